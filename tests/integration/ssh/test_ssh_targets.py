"""Acceptance: drills and ad-hoc commands against real sshd hosts on 127.0.0.x."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab.ssh_lab import SshLab
from tests.conftest import REPO, drillctl_argv, free_port, run_drillctl

pytestmark = pytest.mark.integration


def inventory(lab: SshLab, path: Path, **extra: Any) -> Path:
    """The lab's inventory with `extra` set on group `all`."""
    data = yaml.safe_load(lab.inventory.read_text())
    data["all"]["vars"].update(extra)
    path.write_text(yaml.safe_dump(data))
    return path


def fingerprint(pub: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[1]  # SHA256:…


MARKER_PLAYBOOK = """\
drill: marker
rollback_type: 2
rollback_when: failure
hosts: gateway
deploy:
  - shell: "touch {dir}/ran-{{{{ inventory_hostname }}}}"
"""


def test_quickstart_runs_unchanged_against_the_ssh_lab(ssh_hosts: SshLab, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_drillctl(
        "run",
        "playbooks/quickstart.yml",
        "-i",
        str(ssh_hosts.inventory),
        "-e",
        f"lab_port={free_port()}",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["rolled_back"] is True
    assert {s["host"] for s in result["steps"]} == set(ssh_hosts.addresses)


@pytest.mark.parametrize("command", ["run", "exec"])
def test_unknown_host_key_stops_before_any_step_with_its_fingerprint(
    make_ssh_lab: Any, tmp_path: Path, command: str
) -> None:
    lab = make_ssh_lab(3)
    known = tmp_path / "known_hosts"
    known.write_text(
        "".join(
            line + "\n"
            for line in lab.known_hosts.read_text().splitlines()
            if not line.startswith("[127.0.0.3]")
        )
    )
    inv = inventory(lab, tmp_path / "inv.yml", known_hosts=str(known))
    playbook = tmp_path / "drill.yml"
    playbook.write_text(MARKER_PLAYBOOK.format(dir=tmp_path))
    args = (
        ("run", str(playbook), "-i", str(inv), "--out", str(tmp_path / "run"))
        if command == "run"
        else ("exec", "gateway", "-i", str(inv), "--", f"touch {tmp_path}/ran-exec")
    )
    proc = run_drillctl(*args)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    print_ = fingerprint(lab.host_key("127.0.0.3").with_suffix(".pub"))
    expected = f"host 127.0.0.3: unknown host key (ED25519 {print_})"
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("ran-*")), "a step ran although a host key was unknown"


def test_accept_new_records_unknown_keys_and_proceeds(make_ssh_lab: Any, tmp_path: Path) -> None:
    lab = make_ssh_lab(3)
    known = tmp_path / "known_hosts"
    known.write_text("")
    inv = inventory(
        lab, tmp_path / "inv.yml", known_hosts=str(known), host_key_checking="accept-new"
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(MARKER_PLAYBOOK.format(dir=tmp_path))
    proc = run_drillctl("run", str(playbook), "-i", str(inv), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    recorded = known.read_text()
    for address in lab.addresses:
        key = lab.host_key(address).with_suffix(".pub").read_text().split()[1]
        assert f"[{address}]:{lab.port} ssh-ed25519 {key}" in recorded
    assert len(list(tmp_path.glob("ran-*"))) == 3


def test_a_changed_host_key_is_always_refused(make_ssh_lab: Any, tmp_path: Path) -> None:
    lab = make_ssh_lab(2)
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known = tmp_path / "known_hosts"
    wrong = other.with_suffix(".pub").read_text().split()[1]
    known.write_text(
        lab.known_hosts.read_text().replace(
            lab.host_key("127.0.0.3").with_suffix(".pub").read_text().split()[1], wrong
        )
    )
    inv = inventory(
        lab, tmp_path / "inv.yml", known_hosts=str(known), host_key_checking="accept-new"
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(MARKER_PLAYBOOK.format(dir=tmp_path))
    proc = run_drillctl("run", str(playbook), "-i", str(inv), "--out", str(tmp_path / "run"))
    assert proc.returncode == 3
    assert "host 127.0.0.3: HOST KEY CHANGED" in proc.stderr
    assert wrong in known.read_text(), "a changed key must never be overwritten"
    assert not list(tmp_path.glob("ran-*"))


UNREACHABLE_PLAYBOOK = """\
drill: one host down
rollback_type: 2
rollback_when: failure
max_fail_percentage: {pct}
hosts: gateway
deploy:
  - shell: "touch {dir}/step1-{{{{ inventory_hostname }}}}"
  - shell: "touch {dir}/step2-{{{{ inventory_hostname }}}}"
rollback:
  - hosts: "gateway:!127.0.0.4"
    shell: "touch {dir}/undone-{{{{ inventory_hostname }}}}"
verify:
  - name: no reachable host is left half changed
    hosts: "gateway:!127.0.0.4"
    shell: >-
      test -e {dir}/step2-{{{{ inventory_hostname }}}}
      || test -e {dir}/undone-{{{{ inventory_hostname }}}}
"""


@pytest.mark.parametrize(("pct", "change_stands"), [(25, True), (10, False)])
def test_one_of_five_hosts_unreachable_and_max_fail_percentage_decides(
    make_ssh_lab: Any, tmp_path: Path, pct: int, change_stands: bool
) -> None:
    lab = make_ssh_lab(5)
    pid = int((lab.root / "127.0.0.4" / "sshd.pid").read_text())
    subprocess.run(["kill", str(pid)], check=True)
    playbook = tmp_path / "drill.yml"
    playbook.write_text(UNREACHABLE_PLAYBOOK.format(pct=pct, dir=tmp_path))
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "-i", str(lab.inventory), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    first = [s for s in result["steps"] if s["phase"] == "deploy" and s["host"] == "127.0.0.4"]
    assert first[0]["status"] == "unreachable"
    others = [a for a in lab.addresses if a != "127.0.0.4"]
    assert all((tmp_path / f"step1-{a}").exists() for a in others), "reachable hosts must complete"
    if change_stands:  # 1 of 5 = 20 % <= 25 %: the host drops out, the change goes on
        assert all((tmp_path / f"step2-{a}").exists() for a in others)
        assert not (tmp_path / "step2-127.0.0.4").exists()
        assert result["rolled_back"] is False
    else:  # 20 % > 10 %: the step failed as a whole, the change stops and is rolled back
        assert not list(tmp_path.glob("step2-*"))
        assert result["rolled_back"] is True
        assert result["trigger"]["kind"] == "step_failed"
        assert all((tmp_path / f"undone-{a}").exists() for a in others)


def test_step_timeout_on_an_ssh_host_kills_the_remote_process(
    ssh_hosts: SshLab, tmp_path: Path
) -> None:
    # A duration of this run's own: the process list searched below is the whole machine's.
    sleeper = f"sleep 31.{secrets.randbelow(10**6):06d}"
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: t\nrollback_type: 2\nrollback_when: failure\nhosts: 127.0.0.2\n"
        f"deploy:\n  - {{name: hang, shell: '{sleeper}; touch /nonexistent', timeout: 1s}}\n"
        "rollback:\n  - {name: undo, shell: 'true'}\n"
        "verify:\n  - {name: the step did not finish, shell: 'test ! -e /nonexistent'}\n"
    )
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "-i", str(ssh_hosts.inventory), "--out", str(out))
    result = json.loads((out / "result.json").read_text())
    step = next(s for s in result["steps"] if s["name"] == "hang")
    assert step["status"] == "failed" and "timed out" in step["msg"]
    assert 0.9 < step["duration_s"] < 2.5
    left = subprocess.run(["pgrep", "-f", sleeper], capture_output=True, text=True).stdout
    assert not left.strip(), f"sleep left behind: {left}"
    # The timed-out deploy step starts the rollback, then verify: the drill passes.
    assert proc.returncode == 0
    assert result["trigger"]["step"] == "hang"


def test_exec_prints_each_host_and_exits_nonzero_when_one_fails(ssh_hosts: SshLab) -> None:
    proc = run_drillctl(
        "exec",
        "gateway",
        "-i",
        str(ssh_hosts.inventory),
        "--",
        'test "$(echo $SSH_CONNECTION | cut -d" " -f3)" != 127.0.0.3 && echo fine',
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "127.0.0.2 | OK rc=0" in proc.stdout
    assert "127.0.0.4 | OK rc=0" in proc.stdout
    assert "127.0.0.3 | FAILED rc=1" in proc.stdout


def test_proxy_jump_reaches_a_host_through_another(ssh_hosts: SshLab, tmp_path: Path) -> None:
    jump = f"{ssh_hosts.user}@127.0.0.2:{ssh_hosts.port}"
    inv = inventory(ssh_hosts, tmp_path / "inv.yml", proxy_jump=jump)
    proc = run_drillctl("exec", "127.0.0.3", "-i", str(inv), "--", "echo $SSH_CONNECTION")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Seen from 127.0.0.3, the connection comes from the jump host's sshd, not the controller.
    assert "127.0.0.3 | OK" in proc.stdout
    assert f" 127.0.0.3 {ssh_hosts.port}" in proc.stdout


def test_ssh_config_host_alias_is_honoured(ssh_hosts: SshLab, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        "Host gateway-alias\n"
        "  HostName 127.0.0.4\n"
        f"  Port {ssh_hosts.port}\n"
        f"  User {ssh_hosts.user}\n"
        f"  IdentityFile {ssh_hosts.user_key}\n"
    )
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n  hosts:\n    gateway-alias:\n"
        f"      connection: ssh\n      known_hosts: {ssh_hosts.known_hosts}\n"
    )
    env = {**os.environ, "HOME": str(home), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        drillctl_argv("exec", "all", "-i", str(inv), "--", "echo $SSH_CONNECTION"),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f" 127.0.0.4 {ssh_hosts.port}" in proc.stdout
