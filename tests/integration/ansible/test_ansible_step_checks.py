"""`ansible` steps on the controller's own host: preflight, timeouts, and empty runs."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import child_env, drillctl_argv
from tests.lab.ansible_tools import ansible_tool

pytestmark = pytest.mark.integration

INVENTORY = "all:\n  hosts:\n    app1:\n      connection: local\n"


def setup(tmp_path: Path, ansible_playbook: str, step: str) -> Path:
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(textwrap.dedent(ansible_playbook))
    drill = tmp_path / "drill.yml"
    drill.write_text(
        "drill: ansible step checks\nrollback_type: 1\ndeploy:\n"
        + textwrap.indent(textwrap.dedent(step), "  ")
        + "rollback:\n  - shell: 'true'\n"
    )
    return drill


def drillctl(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        drillctl_argv(*args),
        cwd=tmp_path,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=180,
    )


def events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


SLEEPER = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: a task that hangs
      ansible.builtin.command: sleep 317
"""


def test_a_timeout_kills_ansible_playbook_and_fails_the_step(tmp_path: Path) -> None:
    ansible_tool("ansible-playbook")
    drill = setup(tmp_path, SLEEPER, "- ansible: site.yml\n  timeout: 4s\n")
    started = time.monotonic()
    done = drillctl(tmp_path, "run", str(drill), "-i", "hosts.yml", "--out", "run")
    took = time.monotonic() - started
    assert took < 60, "the step's timeout did not stop ansible-playbook"
    deploy = [e for e in events(tmp_path / "run") if e["event"] == "host_result"]
    assert deploy[0]["phase"] == "deploy"
    assert deploy[0]["status"] == "failed", done.stdout + done.stderr
    assert "timed out" in deploy[0]["msg"]
    # The killed group took the hanging command with it.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert not any(line.strip() == "sleep 317" for line in ps.stdout.splitlines())


def test_a_playbook_that_runs_no_task_on_the_host_fails_the_step(tmp_path: Path) -> None:
    ansible_tool("ansible-playbook")
    nothing = "- hosts: databases\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n"
    drill = setup(tmp_path, nothing, "- ansible: site.yml\n")
    drillctl(tmp_path, "run", str(drill), "-i", "hosts.yml", "--out", "run")
    deploy = next(e for e in events(tmp_path / "run") if e["event"] == "host_result")
    assert deploy["status"] == "failed"
    assert "ran no task" in deploy["msg"]


def test_a_missing_ansible_playbook_program_is_an_environment_error(tmp_path: Path) -> None:
    drill = setup(tmp_path, SLEEPER, "- ansible: site.yml\n")
    done = drillctl(
        tmp_path,
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


def test_a_missing_playbook_file_is_located_bad_input(tmp_path: Path) -> None:
    drill = setup(tmp_path, SLEEPER, "- ansible: {playbook: deploy/missing.yml}\n")
    done = drillctl(tmp_path, "run", str(drill), "-i", "hosts.yml", "--out", "run")
    assert done.returncode == 2, done.stderr
    assert f"{drill}:4:" in done.stderr and "deploy/missing.yml not found" in done.stderr
    lint = drillctl(tmp_path, "lint", str(drill))
    assert lint.returncode == 2
    assert "ansible-playbook-missing" in lint.stdout + lint.stderr
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "missing.yml").write_text(SLEEPER)
    assert "ansible-playbook-missing" not in drillctl(tmp_path, "lint", str(drill)).stdout
