"""Acceptance: a drill whose deploy and rollback are existing Ansible playbooks runs end to end
against the SSH lab (real sshd, generated keys, a strict known_hosts) with real ansible-core,
and reports its rollback time with each playbook task in the journal."""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.actions.ansible_playbook import temporary_inventory
from runner.inventory import load_inventory
from runner.lab.ssh_lab import SshLab
from tests.conftest import child_env
from tests.lab.ansible_folder import AnsibleFolder
from tests.lab.ansible_tools import ansible_tool

pytestmark = pytest.mark.integration

DEPLOY = """\
- name: deploy the release
  hosts: all
  gather_facts: false
  tasks:
    - name: write the release marker
      ansible.builtin.copy:
        content: "{{ version }}\\n"
        dest: "{{ state_dir }}/{{ inventory_hostname }}.release"
    - name: record who deployed
      ansible.builtin.copy:
        content: "{{ deployer }}\\n"
        dest: "{{ state_dir }}/{{ inventory_hostname }}.deployer"
      tags: [audit]
    - name: the release starts
      ansible.builtin.command: "{{ start_command }}"
      changed_when: false
"""

ROLLBACK = """\
- name: roll the release back
  hosts: all
  gather_facts: false
  tasks:
    - name: write the previous release marker
      ansible.builtin.copy:
        content: "{{ previous }}\\n"
        dest: "{{ state_dir }}/{{ inventory_hostname }}.release"
"""


def drill(state: Path, *, start_command: str = "/bin/true") -> str:
    return textwrap.dedent(
        f"""\
        drill: ansible deploy and rollback
        component: order-gateway
        rollback_type: 1
        hosts: gateway
        vars:
          state_dir: {state}
          deployer: drill-bot
        deploy:
          - name: deploy with the team's playbook
            ansible:
              playbook: deploy.yml
              extra_vars: {{version: "2.0.0", start_command: "{start_command}"}}
        rollback:
          - name: roll back with the team's playbook
            ansible:
              playbook: rollback.yml
              extra_vars: {{previous: "1.9.3"}}
        verify:
          - name: the previous release is in place
            command: grep -qx 1.9.3 {{{{ state_dir }}}}/{{{{ inventory_hostname }}}}.release
        """
    )


def run_drill(
    folder: AnsibleFolder, lab: SshLab, text: str
) -> tuple[int, str, dict[str, Any], list]:
    ansible_tool("ansible-playbook")
    folder.write("deploy.yml", DEPLOY)
    folder.write("rollback.yml", ROLLBACK)
    done = folder.run(folder.write("drill.yml", text), lab.inventory, timeout=240)
    return done.returncode, done.output, done.result(), done.events()


def test_ansible_deploy_and_rollback_run_against_the_ssh_lab(
    ansible_folder: AnsibleFolder, make_ssh_lab: Callable[[int], SshLab]
) -> None:
    lab = make_ssh_lab(2)
    state = ansible_folder.root / "state"
    state.mkdir()
    rc, output, result, events = run_drill(ansible_folder, lab, drill(state))
    assert rc == 0, output
    hosts = list(lab.addresses)
    # The playbooks ran on the hosts through the lab's sshd: deploy, then rollback.
    for host in hosts:
        assert (state / f"{host}.release").read_text() == "1.9.3\n"
        assert (state / f"{host}.deployer").read_text() == "drill-bot\n"
    assert result["measured"]["time_to_rollback_s"] is not None
    assert result["measured"]["time_to_rollback_s"] > 0
    tasks = [e for e in events if e["event"] == "ansible_task"]
    deploy = [t for t in tasks if t["phase"] == "deploy"]
    rollback = [t for t in tasks if t["phase"] == "rollback"]
    assert sorted((t["host"], t["task"]) for t in deploy) == sorted(
        (h, name)
        for h in hosts
        for name in ("write the release marker", "record who deployed", "the release starts")
    )
    assert {t["status"] for t in deploy} == {"ok"}
    assert all(t["changed"] for t in deploy if t["task"] == "write the release marker")
    assert sorted(t["host"] for t in rollback) == sorted(hosts)
    assert all(t["task"] == "write the previous release marker" for t in rollback)
    assert all(isinstance(t["duration_s"], float) for t in tasks)
    results = [e for e in events if e["event"] == "host_result" and e["phase"] == "rollback"]
    assert [r["status"] for r in results] == ["ok", "ok"]


def test_a_failed_playbook_task_fails_the_step(
    ansible_folder: AnsibleFolder, make_ssh_lab: Callable[[int], SshLab]
) -> None:
    lab = make_ssh_lab(1)
    state = ansible_folder.root / "state"
    state.mkdir()
    rc, output, result, events = run_drill(
        ansible_folder, lab, drill(state, start_command="/bin/false")
    )
    # The failed deploy triggers the rollback; the drill then proves it (so exit 0).
    assert rc == 0, output
    assert "task 'the release starts' failed" in json.dumps(result["trigger"])
    deploy = [e for e in events if e["event"] == "host_result" and e["phase"] == "deploy"]
    assert [d["status"] for d in deploy] == ["failed"]
    assert "the release starts" in deploy[0]["msg"]
    failed = [e for e in events if e["event"] == "ansible_task" and e["status"] == "failed"]
    assert [t["task"] for t in failed] == ["the release starts"]
    # The rollback playbook still ran: the deploy had changed the host.
    assert (state / f"{lab.addresses[0]}.release").read_text() == "1.9.3\n"


def test_the_temporary_inventory_keeps_host_keys_strict(
    tmp_path: Path, make_ssh_lab: Callable[[int], SshLab]
) -> None:
    """ansible-playbook, given the inventory an `ansible` step writes, refuses a host whose key
    its known_hosts does not hold, and reaches it once the key is there."""
    lab = make_ssh_lab(1)
    host = load_inventory(lab.inventory).hosts[lab.addresses[0]]
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps(temporary_inventory(host, dict(host.vars))))
    assert "environment" not in json.loads(inventory.read_text())["all"]["hosts"][host.name]
    (tmp_path / "ping.yml").write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n"
    )
    argv = [ansible_tool("ansible-playbook"), "-i", str(inventory), str(tmp_path / "ping.yml")]
    env = {**child_env(), "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none"}

    def ping() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    known = lab.known_hosts.read_text()
    lab.known_hosts.write_text("")
    refused = ping()
    assert refused.returncode != 0
    assert "Host key verification failed" in refused.stdout + refused.stderr
    lab.known_hosts.write_text(known)
    reached = ping()
    assert reached.returncode == 0, reached.stdout + reached.stderr
