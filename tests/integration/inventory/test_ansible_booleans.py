"""Acceptance: a flag written `no` in a YAML inventory is false, as in Ansible, so a step
guarded by it is skipped; written `yes` it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import events, run_drillctl

pytestmark = pytest.mark.integration

PLAYBOOK = """\
drill: guarded rollout
rollback_type: 2
hosts: all
deploy:
  - name: roll out
    when: rollout_enabled
    command: "touch {marker}"
"""


@pytest.mark.parametrize(("written", "runs"), [("no", False), ("yes", True), ("off", False)])
def test_a_yaml_inventory_flag_written_no_skips_the_step_as_in_ansible(
    tmp_path: Path, written: str, runs: bool
) -> None:
    marker = tmp_path / "rolled-out"
    playbook = tmp_path / "drill.yml"
    playbook.write_text(PLAYBOOK.format(marker=marker))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        f"all:\n  hosts:\n    box:\n      connection: local\n      rollout_enabled: {written}\n"
    )
    out = tmp_path / "run"
    done = run_drillctl("run", str(playbook), "-i", str(inventory), "--out", str(out))
    assert "Traceback" not in done.stderr
    assert marker.exists() is runs, done.stdout + done.stderr
    statuses = [e.get("status") for e in events(out) if e.get("step") == "roll out"]
    assert ("skipped" in statuses) is not runs, statuses
