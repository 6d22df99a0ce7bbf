"""known_hosts as OpenSSH writes it: `@revoked` keys are refused, `@cert-authority` hosts get a
clear refusal, and lines that cannot be read are skipped, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import paramiko
import pytest

from runner.connections.host_keys import (
    ACCEPT_NEW,
    STRICT,
    HostKeyPolicy,
    RevokedHostKey,
    UnknownHostKey,
    host_matches,
    read_known_hosts,
)
from runner.errors import TargetEnvironmentError

ENTRY = "[127.0.0.2]:2222"


@pytest.fixture(scope="module")
def key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


@pytest.fixture(scope="module")
def other() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def line(names: str, k: paramiko.PKey, marker: str = "") -> str:
    return f"{marker + ' ' if marker else ''}{names} {k.get_name()} {k.get_base64()} comment\n"


def hashed(name: str) -> str:
    salt = b"0123456789abcdefghij"
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def policy(path: Path, mode: str = STRICT) -> HostKeyPolicy:
    return HostKeyPolicy("web1", mode, path)


@pytest.mark.parametrize("mode", [STRICT, ACCEPT_NEW])
@pytest.mark.parametrize("pattern", [ENTRY, "*", "[127.0.0.2]:*", "hashed"])
def test_a_revoked_key_is_refused_even_when_listed_as_known(
    tmp_path: Path, key: paramiko.PKey, mode: str, pattern: str
) -> None:
    known = tmp_path / "known_hosts"
    revoked_for = hashed(ENTRY) if pattern == "hashed" else pattern
    known.write_text(line(ENTRY, key) + line(revoked_for, key, "@revoked"))
    before = known.read_text()
    parsed = read_known_hosts(known)
    assert parsed.keys.lookup(ENTRY) is None  # paramiko is never told to trust it
    with pytest.raises(RevokedHostKey, match=r"host web1: host key .* is REVOKED .* line 2"):
        policy(known, mode).missing_host_key(paramiko.SSHClient(), ENTRY, key)
    assert known.read_text() == before  # accept-new did not record it


def test_a_revoked_key_leaves_other_keys_and_hosts_alone(
    tmp_path: Path, key: paramiko.PKey, other: paramiko.PKey
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(line(ENTRY, key) + line("db1", other) + line("db1", key, "@revoked"))
    parsed = read_known_hosts(known)
    assert parsed.keys.lookup(ENTRY) is not None  # revoked for db1 only
    assert parsed.keys.lookup("db1") is not None
    assert parsed.revoked("db1", key) is not None and parsed.revoked(ENTRY, key) is None


@pytest.mark.parametrize("mode", [STRICT, ACCEPT_NEW])
def test_a_host_vouched_for_by_a_certificate_authority_is_refused_clearly(
    tmp_path: Path, key: paramiko.PKey, other: paramiko.PKey, mode: str
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(line("*.example.net,[127.0.0.2]:*", other, "@cert-authority"))
    with pytest.raises(UnknownHostKey) as raised:
        policy(known, mode).missing_host_key(paramiko.SSHClient(), ENTRY, key)
    message = str(raised.value)
    assert "@cert-authority" in message and "line 1" in message
    assert "does not check host certificates" in message
    assert known.read_text().count("\n") == 1  # accept-new did not record it


def test_a_certificate_authority_for_other_hosts_does_not_matter(
    tmp_path: Path, key: paramiko.PKey, other: paramiko.PKey
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(line("*.example.net", other, "@cert-authority"))
    policy(known, ACCEPT_NEW).missing_host_key(paramiko.SSHClient(), ENTRY, key)
    assert key.get_base64() in known.read_text()  # recorded as accept-new does


@pytest.mark.parametrize(
    "bad",
    [
        "@revoked\n",
        "@revoked *\n",
        "@cert-authority * ssh-ed25519\n",
        "@unknown-marker * ssh-ed25519 AAAA\n",
        "host ssh-ed25519 not-base64!!\n",
        "host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n",  # truncated key
        "host ssh-rsa AAAAB3NzaC1yc2E=\n",
        "host ssh-nope AAAA\n",
        "host\n",
        "@revoked host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n",
        "\xff\xfe garbage \x00\n",
        "h" * 5000 + " ssh-ed25519 AAAA\n",
    ],
)
def test_lines_that_cannot_be_read_are_skipped_not_a_traceback(
    tmp_path: Path, key: paramiko.PKey, bad: str
) -> None:
    known = tmp_path / "known_hosts"
    known.write_bytes(bad.encode("utf-8", "surrogateescape") + line(ENTRY, key).encode())
    parsed = read_known_hosts(known)
    assert parsed.skipped and parsed.skipped[0][0] == 1
    found = parsed.keys.lookup(ENTRY)
    assert found is not None and found[key.get_name()].asbytes() == key.asbytes()


def test_a_missing_file_trusts_nothing_and_an_unreadable_one_is_an_environment_error(
    tmp_path: Path,
) -> None:
    assert read_known_hosts(tmp_path / "absent").keys.lookup(ENTRY) is None
    with pytest.raises(TargetEnvironmentError, match="cannot read known_hosts"):
        read_known_hosts(tmp_path)  # a directory


@pytest.mark.parametrize(
    ("patterns", "entry", "expected"),
    [
        ((ENTRY,), ENTRY, True),
        (("[127.0.0.2]:2223",), ENTRY, False),
        (("127.0.0.?",), "127.0.0.2", True),
        (("*.example.net", "!db.example.net"), "web.example.net", True),
        (("*.example.net", "!db.example.net"), "db.example.net", False),
        (("WEB1",), "web1", True),
        ((hashed("web1"),), "web1", True),
        ((hashed("web1"),), "web2", False),
        (("|1|garbage",), "web1", False),
    ],
)
def test_host_patterns_match_as_openssh_matches_them(
    patterns: tuple[str, ...], entry: str, expected: bool
) -> None:
    assert host_matches(patterns, entry) is expected
