"""Ed25519 key files and journal-head signatures."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from runner.cli import main
from runner.signing import (
    KeyFileError,
    check_signature,
    generate_key_pair,
    load_private_key,
    load_public_key,
    sign_head,
)

HEAD = "ab" * 32


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private = tmp_path / "drill.pem"
    assert main(["keygen", str(private)]) == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert (tmp_path / "drill.pem.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert "ed25519:" in capsys.readouterr().out
    before = private.read_bytes()
    assert main(["keygen", str(private)]) == 2
    assert "exists; not overwriting a key" in capsys.readouterr().err
    assert private.read_bytes() == before


def test_a_signature_checks_with_its_key_and_not_for_another_head(tmp_path: Path) -> None:
    generate_key_pair(tmp_path / "k", tmp_path / "k.pub")
    sig = sign_head(load_private_key(tmp_path / "k"), HEAD, 7)
    public = load_public_key(tmp_path / "k.pub")
    assert check_signature(sig, public) == ""
    forged = type(sig)("cd" * 32, 7, sig.public_key, sig.signature)
    assert "does not match the signed head" in check_signature(forged, public)


def test_a_key_made_with_openssl_works(tmp_path: Path) -> None:
    """The documented openssl commands make keys drillctl reads."""
    private, public = tmp_path / "o.pem", tmp_path / "o.pub"
    try:
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private)],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)],
            check=True,
            capture_output=True,
        )
    except FileNotFoundError:
        pytest.skip("openssl is not installed")
    sig = sign_head(load_private_key(private), HEAD, 1)
    assert check_signature(sig, load_public_key(public)) == ""


def test_a_key_that_is_not_ed25519_is_refused_with_the_reason(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "ec.pem").write_bytes(pem)
    with pytest.raises(KeyFileError, match="not an ed25519 key"):
        load_private_key(tmp_path / "ec.pem")
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(KeyFileError, match="not a PEM private key"):
        load_private_key(tmp_path / "junk.pem")


def test_a_bad_sign_key_stops_the_run_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"
    playbook = tmp_path / "d.yml"
    playbook.write_text(f"drill: d\nrollback_type: 1\nverify:\n  - command: touch {marker}\n")
    (tmp_path / "junk.pem").write_text("junk")
    code = main(
        [
            "run",
            str(playbook),
            "--out",
            str(tmp_path / "run"),
            "--sign-key",
            str(tmp_path / "junk.pem"),
        ]
    )
    assert code == 2
    assert (
        f"{tmp_path / 'junk.pem'}:1:1: --sign-key: not a PEM private key" in capsys.readouterr().err
    )
    assert not marker.exists() and not (tmp_path / "run").exists()
