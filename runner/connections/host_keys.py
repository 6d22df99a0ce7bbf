"""Host-key policy: strict by default; `accept-new` records unknown keys, never changed ones.

known_hosts is read here rather than by paramiko, which skips `@revoked` and
`@cert-authority` lines without a word: a revoked key listed elsewhere in the file would be
accepted. Here a revoked key is refused whatever else the file says, a host vouched for
only by a certificate authority (drillctl does not check host certificates) is refused
with a message saying so, and a line that cannot be read is skipped, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from runner.connections.base import HostUnreachable, local_limit
from runner.connections.ssh_library import paramiko
from runner.errors import TargetEnvironmentError

STRICT = "strict"
ACCEPT_NEW = "accept-new"
POLICIES = (STRICT, ACCEPT_NEW)
_known_hosts_lock = threading.Lock()


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style `ED25519 SHA256:…` for messages an operator can compare with ssh-keygen -l."""
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    kind = key.get_name().removeprefix("ssh-").removeprefix("ecdsa-sha2-").upper()
    return f"{kind} SHA256:{digest}"


def known_hosts_entry(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


class UnknownHostKey(TargetEnvironmentError):
    pass


class ChangedHostKey(TargetEnvironmentError):
    pass


class RevokedHostKey(TargetEnvironmentError):
    pass


REVOKED = "@revoked"
CERT_AUTHORITY = "@cert-authority"


@dataclass(frozen=True)
class MarkedLine:
    """A `@revoked` or `@cert-authority` line: its host patterns and key, and where it is."""

    marker: str
    patterns: tuple[str, ...]
    key: paramiko.PKey
    lineno: int

    def matches(self, entry: str) -> bool:
        return host_matches(self.patterns, entry)


@dataclass(frozen=True)
class KnownHosts:
    """One known_hosts file: the keys it trusts (revoked ones left out), its marked lines,
    and the lines it had to skip (line number, why)."""

    path: Path
    keys: paramiko.HostKeys
    marked: tuple[MarkedLine, ...]
    skipped: tuple[tuple[int, str], ...]

    def revoked(self, entry: str, key: paramiko.PKey) -> MarkedLine | None:
        return next(
            (
                m
                for m in self.marked
                if m.marker == REVOKED and _same_key(m.key, key) and m.matches(entry)
            ),
            None,
        )

    def authority_for(self, entry: str) -> MarkedLine | None:
        return next(
            (m for m in self.marked if m.marker == CERT_AUTHORITY and m.matches(entry)), None
        )


def read_known_hosts(path: Path) -> KnownHosts:
    """Parse a known_hosts file as OpenSSH writes it; a missing file trusts nothing."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return KnownHosts(path, paramiko.HostKeys(), (), ())
    except OSError as exc:
        if local_limit(exc):  # the controller is out of descriptors: not the file's fault
            raise HostUnreachable(local_limit(exc)) from None
        raise TargetEnvironmentError(
            f"cannot read known_hosts {path}: {exc.strerror or exc}"
        ) from None
    plain: list[tuple[tuple[str, ...], paramiko.PKey]] = []
    marked: list[MarkedLine] = []
    skipped: list[tuple[int, str]] = []
    for lineno, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        marker = ""
        if line.startswith("@"):
            marker, _, line = line.partition(" ")
            line = line.strip()
            if marker not in (REVOKED, CERT_AUTHORITY):
                skipped.append((lineno, f"unknown marker {marker[:40]!r}"))
                continue
        parsed = _parse_entry(line)
        if isinstance(parsed, str):
            skipped.append((lineno, parsed))
        elif marker:
            marked.append(MarkedLine(marker, parsed[0], parsed[1], lineno))
        else:
            plain.append(parsed)
    revoked = [m for m in marked if m.marker == REVOKED]
    keys = paramiko.HostKeys()
    for patterns, key in plain:
        against = [m for m in revoked if _same_key(m.key, key)]
        for name in patterns:
            # A hashed name hides the host a wildcard would match: refuse rather than trust.
            if not any(name.startswith("|1|") or m.matches(name) for m in against):
                keys.add(name, key.get_name(), key)
    return KnownHosts(path, keys, tuple(marked), tuple(skipped))


def _parse_entry(line: str) -> tuple[tuple[str, ...], paramiko.PKey] | str:
    """(host patterns, key) of `patterns keytype base64 [comment]`, or why it cannot be read."""
    fields = line.split()
    if len(fields) < 3:
        return "fewer than three fields (hosts, key type, key)"
    names, key_type, blob = fields[:3]
    try:
        key_bytes = base64.b64decode(blob.encode("ascii", "replace"), validate=True)
    except (binascii.Error, ValueError):
        return "the key is not base64"
    try:
        key = paramiko.PKey.from_type_string(key_type, key_bytes)
    except paramiko.pkey.UnknownKeyType:
        return f"key type {key_type[:40]!r} is not supported"
    except Exception:  # a corrupt blob fails in paramiko's decoders in many ways
        return f"the {key_type[:40]} key cannot be decoded"
    return tuple(n for n in names.split(",") if n), key


def host_matches(patterns: tuple[str, ...], entry: str) -> bool:
    """OpenSSH host matching: hashed names, `*`/`?` wildcards, and `!negation`."""
    hit = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        name = pattern[1:] if negated else pattern
        if name.startswith("|1|"):
            found = _hashed_match(name, entry)
        else:
            found = _wildcard(name).fullmatch(entry.lower()) is not None
        if found and negated:
            return False
        hit = hit or found
    return hit


def _wildcard(pattern: str) -> re.Pattern[str]:
    """OpenSSH patterns know `*` and `?` only: `[host]:port` brackets are literal."""
    escaped = re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(escaped, re.DOTALL)


def _hashed_match(hashed: str, entry: str) -> bool:
    try:
        salt_b64, digest_b64 = hashed[3:].split("|", 1)
        salt = base64.b64decode(salt_b64)
        digest = base64.b64decode(digest_b64)
    except (ValueError, binascii.Error):
        return False
    mac = hmac.new(salt, entry.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(mac, digest)


def _same_key(a: paramiko.PKey, b: paramiko.PKey) -> bool:
    return a.get_name() == b.get_name() and a.asbytes() == b.asbytes()


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[float, int], KnownHosts]] = {}


def known_hosts(path: Path) -> KnownHosts:
    """`read_known_hosts`, parsed again only when the file changes."""
    try:
        stat = path.stat()
        stamp = (stat.st_mtime, stat.st_size)
    except OSError:
        return read_known_hosts(path)
    with _cache_lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, read_known_hosts(path))
            _cache[path] = cached
    return cached[1]


class HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuses unknown keys (strict) or appends them to known_hosts (accept-new)."""

    def __init__(self, host_label: str, mode: str, known_hosts: Path) -> None:
        self.host_label = host_label
        self.mode = mode
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        known = known_hosts(self.known_hosts)
        revoked = known.revoked(hostname, key)
        if revoked is not None:
            raise RevokedHostKey(
                f"host {self.host_label}: host key {fingerprint(key)} is REVOKED "
                f"({self.known_hosts} line {revoked.lineno}); refusing to connect"
            )
        authority = known.authority_for(hostname)
        if authority is not None:
            # Recording the key under accept-new would bypass the authority the file trusts.
            raise UnknownHostKey(
                f"host {self.host_label}: {self.known_hosts} line {authority.lineno} trusts a "
                f"certificate authority (@cert-authority) for it, and drillctl does not check "
                f"host certificates; add the host's own key ({fingerprint(key)}) to "
                f"{self.known_hosts}, e.g. with ssh-keyscan"
            )
        if self.mode != ACCEPT_NEW:
            raise UnknownHostKey(
                f"host {self.host_label}: unknown host key ({fingerprint(key)}); "
                f"check it and add it to {self.known_hosts}, or set host_key_checking: accept-new"
            )
        with _known_hosts_lock:
            self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
            line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
            with self.known_hosts.open("a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        client.get_host_keys().add(hostname, key.get_name(), key)


def changed_key_error(
    host_label: str, exc: paramiko.BadHostKeyException, known_hosts: Path
) -> ChangedHostKey:
    return ChangedHostKey(
        f"host {host_label}: HOST KEY CHANGED (now {fingerprint(exc.key)}, "
        f"expected {fingerprint(exc.expected_key)} from {known_hosts}); refusing to connect"
    )


def known_keys(path: Path, entry: str) -> dict[str, paramiko.PKey]:
    """Keys known for one host entry (@revoked keys left out, unreadable lines skipped); the
    file is parsed once per change, not per host."""
    found = known_hosts(path).keys.lookup(entry)
    return dict(found) if found else {}
