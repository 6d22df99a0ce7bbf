"""The drill's own times, which every measured figure is taken against: what opens the
window, what dates detection and decision, and when the rollback ran.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from runner.engine.outcome import Trigger
from runner.engine.phases import DrillState
from runner.engine.results import PhaseResult
from runner.engine.verdict import drill_timeline
from runner.measure.timeline import Timeline
from runner.playbook.model import Playbook

AT = "2026-12-01T12:00:00.000Z"


def phase(name: str, started: float, duration: float, skipped: str = "") -> PhaseResult:
    return PhaseResult(name, (), AT, started, duration, skipped)


def timeline(state: DrillState, measure_from: str = "deploy", **ledger: Any) -> Timeline:
    faults = [SimpleNamespace(injected_mono=t) for t in ledger.get("injected", (None,))]
    monitor = SimpleNamespace(deploy_started=12.0, verify_ended=30.0)
    playbook = Playbook("drill.yml", "d", 2, measure_from=measure_from)
    return drill_timeline(state, playbook, SimpleNamespace(records=faults), monitor)  # type: ignore[arg-type]


def test_every_time_of_a_triggered_rolled_back_drill() -> None:
    state = DrillState(
        phases=[phase("prepare", 10.0, 1.0), phase("deploy", 12.0, 3.0)],
        trigger=Trigger("probe", mono=16.5),
        decided_mono=17.0,
        rollback=phase("rollback", 20.0, 2.5),
    )
    tl = timeline(state, injected=(15.0, None, 14.0))
    assert (tl.deploy_started, tl.first_fault_injected, tl.verify_ended) == (12.0, 14.0, 30.0)
    assert (tl.detected, tl.decided) == (16.5, 17.0)
    assert (tl.rollback_started, tl.rollback_ended) == (20.0, 22.5)
    assert tl.window_from is None  # measured from deploy: prepare is not judged


def test_a_drill_without_faults_trigger_or_rollback_has_none_of_their_times() -> None:
    tl = timeline(DrillState(phases=[phase("deploy", 12.0, 3.0)]), injected=(None,))
    assert (tl.first_fault_injected, tl.detected, tl.decided) == (None, None, None)
    assert (tl.rollback_started, tl.rollback_ended) == (None, None)


def test_a_trigger_that_detected_nothing_dates_neither_detection_nor_decision() -> None:
    # A rehearsal (rollback_when: always) detected nothing: there is no time to detect or
    # to decide, whatever the decision's moment.
    state = DrillState(trigger=Trigger("rehearsal", mono=16.5), decided_mono=17.0)
    tl = timeline(state)
    assert (tl.detected, tl.decided) == (None, None)


def test_measure_from_prepare_opens_the_window_when_prepare_ran() -> None:
    ran = DrillState(phases=[phase("prepare", 10.0, 1.0), phase("deploy", 12.0, 3.0)])
    assert timeline(ran, "prepare").window_from == 10.0
    assert timeline(ran, "deploy").window_from is None
    skipped = DrillState(phases=[phase("prepare", 10.0, 0.0, "no steps")])
    assert timeline(skipped, "prepare").window_from is None
    assert timeline(DrillState(), "prepare").window_from is None


def test_a_state_finds_only_phases_that_ran() -> None:
    state = DrillState(phases=[phase("prepare", 10.0, 1.0), phase("rollback", 20.0, 0.0, "x")])
    prepare = state.phase_result("prepare")
    assert prepare is not None and prepare.phase == "prepare"
    assert state.phase_result("rollback") is None  # skipped
    assert state.phase_result("verify") is None  # never reached


def test_the_change_began_only_when_deploy_or_inject_ran() -> None:
    assert not DrillState(phases=[phase("prepare", 10.0, 1.0)]).change_began()
    assert not DrillState(phases=[phase("deploy", 12.0, 0.0, "prepare failed")]).change_began()
    assert DrillState(phases=[phase("inject", 12.0, 1.0)]).change_began()
    assert DrillState(phases=[phase("deploy", 12.0, 1.0)]).change_began()
