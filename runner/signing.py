"""Ed25519 signatures of a journal's head hash (`drillctl run --sign-key`, `verify --pubkey`).

The hash chain shows a line changed, removed or torn, but someone who edits lines and
recomputes every hash after them leaves a chain that checks. A signature over the head
hash, made with a key the editor does not hold, does not survive that: the recomputed head
differs from the signed one.

`journal.sig` (JSON) holds the head it signs, the event count, the algorithm, the public key
(raw, base64: which key signed; trust comes from the `--pubkey` the verifier gives) and the
signature (base64) over `drillctl-journal-head-v1\\n<head>`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_NAME = "journal.sig"
ALGORITHM = "ed25519"
_DOMAIN = b"drillctl-journal-head-v1\n"


class KeyFileError(ValueError):
    """A key file that cannot be used; the message says why."""


@dataclass(frozen=True)
class HeadSignature:
    head: str
    events: int
    public_key: str  # raw public key, base64
    signature: str  # base64

    @property
    def key_id(self) -> str:
        return key_id(base64.b64decode(self.public_key))


def key_id(raw_public: bytes) -> str:
    """A short, stable name for a public key: SHA-256 of its raw bytes, first 16 hex digits."""
    return "ed25519:" + hashlib.sha256(raw_public).hexdigest()[:16]


def signing_key_id(key: Ed25519PrivateKey) -> str:
    return key_id(_raw(key.public_key()))


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted PEM (PKCS#8) ed25519 private key, or KeyFileError saying what is wrong."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise KeyFileError(f"cannot read the key: {exc.strerror or exc}") from None
    except TypeError:
        raise KeyFileError("the key is encrypted; give an unencrypted ed25519 key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError("not a PEM private key (make one with `drillctl keygen`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError("not an ed25519 key (make one with `drillctl keygen`)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM ed25519 public key, or KeyFileError."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise KeyFileError(f"cannot read the key: {exc.strerror or exc}") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError("not an ed25519 public key")
    return key


def sign_head(key: Ed25519PrivateKey, head: str, events: int) -> HeadSignature:
    signature = key.sign(_DOMAIN + head.encode())
    return HeadSignature(
        head,
        events,
        base64.b64encode(_raw(key.public_key())).decode(),
        base64.b64encode(signature).decode(),
    )


def write_signature(run_dir: Path, sig: HeadSignature) -> Path:
    path = run_dir / SIGNATURE_NAME
    tmp = path.with_name(path.name + ".tmp")
    body = {
        "algorithm": ALGORITHM,
        "head": sig.head,
        "events": sig.events,
        "public_key": sig.public_key,
        "key_id": sig.key_id,
        "signature": sig.signature,
    }
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_signature(path: Path) -> HeadSignature:
    """journal.sig, or ValueError naming what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable signature file: {exc}") from None
    if not isinstance(data, dict) or data.get("algorithm") != ALGORITHM:
        raise ValueError(f"not an {ALGORITHM} signature file")
    try:
        return HeadSignature(
            str(data["head"]), int(data["events"]), str(data["public_key"]), str(data["signature"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"signature file lacks {exc}") from None


def check_signature(sig: HeadSignature, public: Ed25519PublicKey) -> str:
    """'' when `public` signed `sig.head`, else why not."""
    try:
        signature = base64.b64decode(sig.signature, validate=True)
    except ValueError:
        return "the signature is not base64"
    if base64.b64encode(_raw(public)).decode() != sig.public_key:
        return f"signed by {sig.key_id}, not by the given key {key_id(_raw(public))}"
    try:
        public.verify(signature, _DOMAIN + sig.head.encode())
    except InvalidSignature:
        return "the signature does not match the signed head (the file was edited)"
    return ""


def generate_key_pair(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (private key mode 0600); returns the key id. Never overwrites."""
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} exists; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem)
    public = key.public_key()
    public_path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return key_id(_raw(public))
