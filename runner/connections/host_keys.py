"""Host-key policy: strict by default; `accept-new` records unknown keys, never changed ones."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path

import paramiko

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


class HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Refuses unknown keys (strict) or appends them to known_hosts (accept-new)."""

    def __init__(self, host_label: str, mode: str, known_hosts: Path) -> None:
        self.host_label = host_label
        self.mode = mode
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
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


_known_cache: dict[Path, tuple[float, paramiko.HostKeys]] = {}
_known_lock = threading.Lock()


def known_keys(path: Path, entry: str) -> dict[str, paramiko.PKey]:
    """Keys known for one host entry; the file is parsed once per change, not per host."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    with _known_lock:
        cached = _known_cache.get(path)
        if cached is None or cached[0] != mtime:
            keys = paramiko.HostKeys()
            keys.load(str(path))
            cached = (mtime, keys)
            _known_cache[path] = cached
    found = cached[1].lookup(entry)
    return dict(found) if found else {}
