"""`ansible` steps on the controller's own host: preflight, timeouts, and empty runs."""

from __future__ import annotations

import secrets
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.lab.ansible_folder import AnsibleFolder
from tests.lab.ansible_tools import ansible_tool

pytestmark = pytest.mark.integration


def setup(folder: AnsibleFolder, ansible_playbook: str, step: str) -> Path:
    folder.local_inventory()
    folder.write("site.yml", ansible_playbook)
    return folder.write(
        "drill.yml",
        "drill: ansible step checks\nrollback_type: 1\ndeploy:\n"
        + textwrap.indent(textwrap.dedent(step), "  ")
        + "rollback:\n  - shell: 'true'\n",
    )


# A duration of this run's own: another suite on the machine runs the same test, and a
# process list is the whole machine's.
SLEEP = f"sleep 317.{secrets.randbelow(10**6):06d}"
SLEEPER = f"""\
- hosts: all
  gather_facts: false
  tasks:
    - name: a task that hangs
      ansible.builtin.command: {SLEEP}
"""


def test_a_timeout_kills_ansible_playbook_and_fails_the_step(
    ansible_folder: AnsibleFolder,
) -> None:
    ansible_tool("ansible-playbook")
    drill = setup(ansible_folder, SLEEPER, "- ansible: site.yml\n  timeout: 4s\n")
    started = time.monotonic()
    done = ansible_folder.run(drill, Path("hosts.yml"))
    took = time.monotonic() - started
    assert took < 60, "the step's timeout did not stop ansible-playbook"
    deploy = [e for e in done.events() if e["event"] == "host_result"]
    assert deploy[0]["phase"] == "deploy"
    assert deploy[0]["status"] == "failed", done.output
    assert "timed out" in deploy[0]["msg"]
    # The killed group took the hanging command with it.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert not any(line.strip() == SLEEP for line in ps.stdout.splitlines())


def test_a_playbook_that_runs_no_task_on_the_host_fails_the_step(
    ansible_folder: AnsibleFolder,
) -> None:
    ansible_tool("ansible-playbook")
    nothing = "- hosts: databases\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n"
    drill = setup(ansible_folder, nothing, "- ansible: site.yml\n")
    done = ansible_folder.run(drill, Path("hosts.yml"))
    deploy = next(e for e in done.events() if e["event"] == "host_result")
    assert deploy["status"] == "failed"
    assert "ran no task" in deploy["msg"]


def test_a_missing_ansible_playbook_program_is_an_environment_error(
    ansible_folder: AnsibleFolder,
) -> None:
    tmp_path = ansible_folder.root
    drill = setup(ansible_folder, SLEEPER, "- ansible: site.yml\n")
    done = ansible_folder.drillctl(
        "run",
        str(drill),
        "-i",
        "hosts.yml",
        "--out",
        "run",
        DRILLCTL_ANSIBLE_PLAYBOOK=str(tmp_path / "no-such-program"),
    )
    assert done.returncode == 3, done.stderr
    assert "ansible-playbook is not installed" in done.stderr
    assert not (tmp_path / "run").exists()


def test_a_missing_playbook_file_is_located_bad_input(ansible_folder: AnsibleFolder) -> None:
    tmp_path, drillctl = ansible_folder.root, ansible_folder.drillctl
    drill = setup(ansible_folder, SLEEPER, "- ansible: {playbook: deploy/missing.yml}\n")
    done = drillctl("run", str(drill), "-i", "hosts.yml", "--out", "run")
    assert done.returncode == 2, done.stderr
    assert f"{drill}:4:" in done.stderr and "deploy/missing.yml not found" in done.stderr
    lint = drillctl("lint", str(drill))
    assert lint.returncode == 2
    assert "ansible-playbook-missing" in lint.stdout + lint.stderr
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "missing.yml").write_text(SLEEPER)
    assert "ansible-playbook-missing" not in drillctl("lint", str(drill)).stdout
