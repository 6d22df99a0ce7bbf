"""Acceptance: `@revoked` and `@cert-authority` lines of known_hosts against real sshd hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab.ssh_lab import SshLab
from tests.conftest import run_drillctl

pytestmark = pytest.mark.integration

PLAYBOOK = """\
drill: marker
rollback_type: 2
rollback_when: failure
hosts: gateway
deploy:
  - shell: "touch {dir}/ran-{{{{ inventory_hostname }}}}"
"""


def run_with(lab: SshLab, tmp_path: Path, known_hosts: str, mode: str) -> Any:
    known = tmp_path / "known_hosts"
    known.write_text(known_hosts)
    data = yaml.safe_load(lab.inventory.read_text())
    data["all"]["vars"].update(known_hosts=str(known), host_key_checking=mode)
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump(data))
    playbook = tmp_path / "drill.yml"
    playbook.write_text(PLAYBOOK.format(dir=tmp_path))
    return run_drillctl("run", str(playbook), "-i", str(inventory), "--out", str(tmp_path / "run"))


@pytest.mark.parametrize("mode", ["strict", "accept-new"])
def test_a_revoked_host_key_is_refused_before_any_step(
    make_ssh_lab: Any, tmp_path: Path, mode: str
) -> None:
    lab = make_ssh_lab(2)
    kind, blob = lab.host_key("127.0.0.3").with_suffix(".pub").read_text().split()[:2]
    known = lab.known_hosts.read_text() + f"@revoked * {kind} {blob}\n"
    proc = run_with(lab, tmp_path, known, mode)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "host 127.0.0.3: host key ED25519 SHA256:" in proc.stderr
    assert "is REVOKED" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("ran-*")), "a step ran although a host key was revoked"


def test_a_host_trusted_through_a_certificate_authority_is_refused_with_a_clear_message(
    make_ssh_lab: Any, tmp_path: Path
) -> None:
    lab = make_ssh_lab(1)
    kind, blob = lab.user_key.with_suffix(".pub").read_text().split()[:2]
    proc = run_with(lab, tmp_path, f"@cert-authority * {kind} {blob}\n", "accept-new")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "@cert-authority" in proc.stderr and "does not check host certificates" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("ran-*"))


def test_unreadable_lines_in_known_hosts_do_not_stop_a_drill(
    make_ssh_lab: Any, tmp_path: Path
) -> None:
    lab = make_ssh_lab(1)
    junk = "@revoked\n@cert-authority *\nhost ssh-ed25519 !!!\n@bogus x y z\n"
    proc = run_with(lab, tmp_path, junk + lab.known_hosts.read_text(), "strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(list(tmp_path.glob("ran-*"))) == 1
