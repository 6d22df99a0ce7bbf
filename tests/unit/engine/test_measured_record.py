"""The `run_measured` record a drill journals at its end: the one clock result.json and a rebuild
from the journal read, with the drill's times exactly as the runner had them, each probe's
`healthy_after`, and the figures; and no figures at all without a probe.

Each drill runs in this process against a fake target (tests/fakes). A command probe checks
the fake target's marker `svc`; the change step clears it, the probe's trigger fires and the
rollback sets it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import InProcessRun, run_drill

PROBED = (
    "drill: measured\nrollback_type: 2\n"
    "probes:\n  health: {command: 'fault-check svc', every: 50ms, healthy_after: 2}\n"
    "triggers:\n  - {probe: health, consecutive_failures: 1}\n"
    "prepare:\n  - {name: baseline, shell: fault-on svc}\n"
    "deploy:\n  - {name: watched, shell: hang watched, timeout: 5s}\n"
    "rollback:\n  - {name: restore, shell: fault-on svc}\n"
    "verify:\n  - {name: healthy, shell: fault-check svc}\n"
)


def measured(run: InProcessRun) -> dict[str, Any]:
    [record] = [e for e in run.events() if e["event"] == "run_measured"]
    return record


def test_a_probed_drill_journals_its_times_healthy_after_and_figures(tmp_path: Path) -> None:
    target = FakeTarget()

    def break_service(call: Call) -> None:
        with target._lock:
            target.faults_on.discard("svc")

    target.on("watched", break_service)
    run = run_drill(PROBED, tmp_path, target)
    outcome = run.outcome
    trigger = outcome.trigger
    assert trigger is not None and trigger.kind == "probe"
    assert outcome.figures is not None
    record = measured(run)
    assert record["healthy_after"] == {"health": 2}
    assert record["figures"] == outcome.figures.as_result()
    [rollback] = [p for p in outcome.phases if p.phase == "rollback"]
    timeline = record["timeline"]
    assert timeline["detected"] == trigger.mono
    assert outcome.decided_mono is not None and timeline["decided"] == outcome.decided_mono
    assert timeline["rollback_started"] == rollback.started_mono
    assert timeline["rollback_ended"] == rollback.started_mono + rollback.duration_s
    assert outcome.started_mono <= timeline["deploy_started"] <= trigger.mono
    assert trigger.mono <= timeline["verify_ended"] <= outcome.ended_mono
    assert (record["started_mono"], record["ended_mono"]) == (
        outcome.started_mono,
        outcome.ended_mono,
    )
    assert run.exit_code == 0, outcome.reason


def test_a_drill_without_probes_journals_no_times_and_no_figures(tmp_path: Path) -> None:
    text = (
        "drill: unprobed\nrollback_type: 2\n"
        "deploy:\n  - {name: change, shell: fail change}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )
    run = run_drill(text, tmp_path, FakeTarget())
    assert run.outcome.figures is None
    record = measured(run)
    assert (record["timeline"], record["figures"], record["healthy_after"]) == (None, None, {})
    decided = run.outcome.decided_mono
    assert decided is not None and record["decided_mono"] == decided
    assert (record["status"], record["reason"]) == (run.outcome.status, run.outcome.reason)
