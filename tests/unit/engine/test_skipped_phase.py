"""A skipped phase leaves the same evidence everywhere: the journal, the terminal and the
run's phases say which phase, why, and when it was skipped; it ran no step and took no time.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.fakes.connection import FakeTarget
from tests.fakes.engine import run_drill

WHY = "nothing failed (rollback_when: failure)"
PLAYBOOK = (
    "drill: skipped phase\nrollback_type: 2\nrollback_when: failure\n"
    "deploy:\n  - {name: change, shell: ok change}\n"
    "rollback:\n  - {name: undo, shell: ok undo}\n"
    "verify:\n  - {name: check, shell: ok check}\n"
)


def test_a_skipped_rollback_is_recorded_with_its_reason_and_time(tmp_path: Path) -> None:
    target = FakeTarget()
    run = run_drill(PLAYBOOK, tmp_path, target)
    assert not target.ran("undo")
    [event] = [e for e in run.events() if e["event"] == "phase_skipped"]
    assert (event["phase"], event["reason"]) == ("rollback", WHY)
    assert isinstance(event["started_at"], str)
    datetime.fromisoformat(event["started_at"].replace("Z", "+00:00"))
    assert f"▸ rollback: skipped ({WHY})" in run.view.text
    [rollback] = [p for p in run.outcome.phases if p.phase == "rollback"]
    assert (rollback.skipped_reason, rollback.ran, rollback.steps) == (WHY, False, ())
    assert rollback.started_at == event["started_at"]
    assert (rollback.duration_s, type(rollback.started_mono)) == (0.0, float)
    deploy = next(p for p in run.outcome.phases if p.phase == "deploy")
    assert deploy.started_mono <= rollback.started_mono <= run.outcome.ended_mono
    assert (run.exit_code, run.outcome.status) == (0, "passed")
