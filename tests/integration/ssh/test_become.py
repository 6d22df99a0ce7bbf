"""`-b/--become`, `--become-user`, `-u` and `--private-key` against a real non-root SSH
login with sudo: the step runs as root only when asked, and a host's own vars win."""

from __future__ import annotations

import json
import pwd
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_drillctl
from tests.lab.ssh_fixtures import SudoUser

pytestmark = pytest.mark.integration

DRILL = """\
drill: who runs the steps
rollback_type: 2
rollback_when: failure
hosts: all
deploy:
  - name: who am i
    command: id -u
    register: me
verify:
  - name: the uid expected
    assert: {that: ["(me.stdout | trim) == expected_uid"]}
"""


def write_inventory(user: SudoUser, path: Path, **host_vars: Any) -> Path:
    """The lab host with no user and no key of its own (the flags give them)."""
    lab = user.lab
    data = {
        "all": {
            "vars": {
                "connection": "ssh",
                "port": lab.port,
                "known_hosts": str(lab.known_hosts),
            },
            "hosts": {lab.addresses[0]: host_vars or None},
        }
    }
    path.write_text(yaml.safe_dump(data))
    return path


def run_as(
    user: SudoUser, tmp_path: Path, name: str, expected_uid: int, *flags: str, **host_vars: Any
) -> tuple[int, str, list[str]]:
    """Run the drill; the exit code, the output and what `id -u` printed on the host."""
    playbook = tmp_path / "drill.yml"
    playbook.write_text(DRILL)
    inventory = write_inventory(user, tmp_path / f"{name}.yml", **host_vars)
    out = tmp_path / name
    proc = run_drillctl(
        "run",
        str(playbook),
        "-i",
        str(inventory),
        "--private-key",
        str(user.lab.user_key),
        "-e",
        f"expected_uid={expected_uid}",
        "--out",
        str(out),
        *flags,
    )
    events = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    printed = [
        e["stdout"].strip()
        for e in events
        if e["event"] == "host_result" and e["step"] == "who am i"
    ]
    return proc.returncode, proc.stdout + proc.stderr, printed


def test_become_runs_a_step_as_root_from_a_non_root_login(
    sudo_user: SudoUser, tmp_path: Path
) -> None:
    rc, output, printed = run_as(sudo_user, tmp_path, "become", 0, "-u", sudo_user.name, "-b")
    assert rc == 0, output
    assert printed == ["0"]


def test_without_become_the_step_runs_as_the_login_user(
    sudo_user: SudoUser, tmp_path: Path
) -> None:
    rc, output, printed = run_as(sudo_user, tmp_path, "plain", sudo_user.uid, "-u", sudo_user.name)
    assert rc == 0, output
    assert printed == [str(sudo_user.uid)] and sudo_user.uid != 0


def test_become_user_picks_whom_sudo_runs_the_step_as(sudo_user: SudoUser, tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody").pw_uid
    rc, output, printed = run_as(
        sudo_user, tmp_path, "nobody", nobody, "-u", sudo_user.name, "-b", "--become-user", "nobody"
    )
    assert rc == 0, output
    assert printed == [str(nobody)]


def test_host_vars_win_over_the_connection_flags(sudo_user: SudoUser, tmp_path: Path) -> None:
    # The host says whom to log in as and not to become: -u and -b give way, as in Ansible.
    rc, output, printed = run_as(
        sudo_user,
        tmp_path,
        "hostwins",
        sudo_user.uid,
        "-u",
        "root",
        "-b",
        ansible_user=sudo_user.name,
        ansible_become=False,
    )
    assert rc == 0, output
    assert printed == [str(sudo_user.uid)]


def test_a_wrong_expectation_fails_the_drill(sudo_user: SudoUser, tmp_path: Path) -> None:
    # The drill's own assert is what the tests above rely on: it must be able to fail.
    rc, output, printed = run_as(sudo_user, tmp_path, "wrong", 0, "-u", sudo_user.name)
    assert rc == 1, output
    assert printed == [str(sudo_user.uid)]


def test_exec_takes_the_same_connection_flags(sudo_user: SudoUser, tmp_path: Path) -> None:
    inventory = write_inventory(sudo_user, tmp_path / "exec.yml")
    base = ("exec", "all", "-i", str(inventory), "--private-key", str(sudo_user.lab.user_key))
    login = ("-u", sudo_user.name)
    plain = run_drillctl(*base, *login, "--", "id", "-u")
    become = run_drillctl(*base, *login, "-b", "--", "id", "-u")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert become.returncode == 0, become.stdout + become.stderr
    assert str(sudo_user.uid) in plain.stdout.split() and "0" not in plain.stdout.split()
    assert "0" in become.stdout.split() and str(sudo_user.uid) not in become.stdout.split()


STEP_DRILL = """\
drill: steps say otherwise
rollback_type: 2
rollback_when: failure
hosts: all
deploy:
  - {name: default, command: id -u}
  - {name: never root, command: id -u, become: false}
  - {name: always root, command: id -u, become: true}
  - {name: as nobody, command: id -u, become: true, become_user: nobody}
"""


def step_uids(user: SudoUser, tmp_path: Path, name: str, *flags: str) -> dict[str, str]:
    playbook = tmp_path / "steps.yml"
    playbook.write_text(STEP_DRILL)
    inventory = write_inventory(user, tmp_path / f"{name}.yml")
    out = tmp_path / name
    proc = run_drillctl(
        "run",
        str(playbook),
        "-i",
        str(inventory),
        "-u",
        user.name,
        "--private-key",
        str(user.lab.user_key),
        "--out",
        str(out),
        *flags,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    return {e["step"]: e["stdout"].strip() for e in events if e["event"] == "host_result"}


def test_a_steps_own_become_wins_over_the_flag_and_the_host(
    sudo_user: SudoUser, tmp_path: Path
) -> None:
    uid, nobody = str(sudo_user.uid), str(pwd.getpwnam("nobody").pw_uid)
    assert step_uids(sudo_user, tmp_path, "flagged", "-b") == {
        "default": "0",
        "never root": uid,
        "always root": "0",
        "as nobody": nobody,
    }
    assert step_uids(sudo_user, tmp_path, "unflagged") == {
        "default": uid,
        "never root": uid,
        "always root": "0",
        "as nobody": nobody,
    }
