"""The SSH lab's key helpers, shared with the scale bench's sshd fleet."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.connections.host_keys import read_known_hosts
from runner.lab import ssh_lab

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="no ssh-keygen")


def test_keygen_makes_a_pair_once_and_keeps_it(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    ssh_lab.keygen(key, "lab-test")
    public = key.with_suffix(".pub").read_text()
    assert public.startswith("ssh-ed25519 ") and public.rstrip().endswith(" lab-test")
    ssh_lab.keygen(key, "lab-test")  # a second `up` must not replace a key hosts trust
    assert key.with_suffix(".pub").read_text() == public


def test_known_hosts_line_trusts_the_key_for_that_address_and_port_only(tmp_path: Path) -> None:
    key = tmp_path / "host_key"
    ssh_lab.keygen(key, "host")
    line = ssh_lab.known_hosts_line("127.0.0.9", 2222, key)
    kind, public = key.with_suffix(".pub").read_text().split()[:2]
    assert line == f"[127.0.0.9]:2222 {kind} {public}"
    (tmp_path / "known_hosts").write_text(line + "\n")
    known = read_known_hosts(tmp_path / "known_hosts")
    found = known.keys.lookup("[127.0.0.9]:2222")
    assert found is not None and found[kind].get_base64() == public
    assert known.keys.lookup("[127.0.0.9]:2223") is None
    assert known.keys.lookup("127.0.0.9") is None
