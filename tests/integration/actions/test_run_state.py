"""The run's state directory on a target: removed once a run rolled back and verified, kept
(and reported) while a snapshot in it may be the only copy of what a change replaced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import events, run_drillctl

pytestmark = pytest.mark.integration

DRILL = """\
drill: app.conf change
component: app
rollback_type: 1
hosts: web
deploy:
  - name: new app.conf
    config: {{dest: "{dest}", content: "mode=new\\n"}}
rollback: {rollback}
verify:
  - name: the old app.conf is back
    command: "grep -qx mode=old {dest}"
"""


def run(tmp_path: Path, rollback: str) -> tuple[dict[str, Any], list[dict[str, Any]], Path]:
    dest = tmp_path / "app.conf"
    dest.write_text("mode=old\n")
    state = tmp_path / "state"
    inventory = tmp_path / "inventory.yml"
    host = {"connection": "local", "address": "127.0.0.1", "drillctl_state_dir": str(state)}
    inventory.write_text(json.dumps({"all": {"hosts": {"web": host}}}))
    playbook = tmp_path / "drill.yml"
    playbook.write_text(DRILL.format(dest=dest, rollback=rollback))
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "-i", str(inventory), "--out", str(out))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    return result, events(out), state / result["run_id"] / "web"


def test_state_is_removed_after_a_rollback_that_succeeded(tmp_path: Path) -> None:
    result, journal, state = run(tmp_path, "auto")
    assert result["status"] == "passed", result["reason"]
    assert (tmp_path / "app.conf").read_text() == "mode=old\n"
    assert not state.parent.exists()
    assert [e["path"] for e in journal if e["event"] == "run_state_removed"] == [str(state)]


def test_state_is_kept_and_reported_when_the_rollback_failed(tmp_path: Path) -> None:
    result, journal, state = run(tmp_path, '[{name: "broken rollback", shell: "exit 3"}]')
    assert result["status"] == "failed"
    [kept] = [e for e in journal if e["event"] == "run_state_kept"]
    assert kept["path"] == str(state) and kept["reason"] == "the rollback failed"
    # The snapshot is the only copy of the old file left: it must still be there.
    [undo] = [e for e in journal if e["event"] == "undo_recorded"]
    assert Path(undo["args"]["restore"]).read_text() == "mode=old\n"
    assert Path(undo["args"]["restore"]).parent == state
    assert (tmp_path / "app.conf").read_text() == "mode=new\n"
