"""The verdict on a whole drill, from what it did: a dead probe worker makes any verdict
but an interrupt an error (its figures stopped telling the truth), and the objectives are
judged on the drill's own figures.
"""

from __future__ import annotations

from types import SimpleNamespace

from runner.engine.interrupts import Interrupts
from runner.engine.phases import DrillState
from runner.engine.results import HostResult, PhaseResult, StepResult
from runner.engine.verdict import drill_verdict
from runner.measure.figures import DrillFigures, measure_drill
from runner.measure.probes import ProbeLog
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline
from runner.playbook.model import Objectives, Playbook

ROLLED_BACK = ("passed", "rolled back in 1.00s and verified")
BROKEN = "probe worker health@web1 died: OSError: [Errno 24] Too many open files"


def phase(name: str, started: float, status: str = "ok", msg: str = "") -> PhaseResult:
    """A phase whose one step ran on web1 for one second (and succeeded, by default)."""
    step = StepResult(
        SimpleNamespace(name=f"{name} step"),  # type: ignore[arg-type]
        (HostResult("web1", status, msg),),
        "",
        started,
        1.0,
    )
    return PhaseResult(name, (step,), "", started, 1.0)


def verdict(
    probe_failure: str = "",
    interrupted: bool = False,
    figures: DrillFigures | None = None,
    rto_s: float | None = None,
    not_reverted: bool = False,
) -> tuple[str, str]:
    """The verdict on a drill that changed, rolled back (from t=1 to t=2) and verified."""
    rollback = phase("rollback", 1.0)
    verify = phase("verify", 2.0)
    state = DrillState(phases=[phase("deploy", 0.0), rollback, verify])
    state.rollback, state.final_verify = rollback, verify
    playbook = Playbook(
        path="drill.yml", drill="d", rollback_type=2, objectives=Objectives(rto_s=rto_s)
    )
    ledger = SimpleNamespace(any_revert_failed=not_reverted, records=[])
    interrupts = Interrupts(lambda _: None)
    if interrupted:
        interrupts.trip("SIGINT")
    return drill_verdict(state, playbook, ledger, interrupts, figures, probe_failure)  # type: ignore[arg-type]


def test_a_dead_probe_worker_makes_a_passed_drill_an_error() -> None:
    assert verdict() == ROLLED_BACK
    assert verdict(BROKEN) == ("error", f"measurement broken: {BROKEN}")


def test_an_interrupted_drill_stays_interrupted_whatever_the_probes() -> None:
    assert verdict(BROKEN, interrupted=True) == ("interrupted", "interrupted by SIGINT")


def test_an_interrupted_drill_says_when_a_fault_was_not_reverted() -> None:
    assert verdict(interrupted=True) == ("interrupted", "interrupted by SIGINT")
    assert verdict(interrupted=True, not_reverted=True) == (
        "interrupted",
        "interrupted by SIGINT; a fault was NOT reverted",
    )


def recovered() -> DrillFigures:
    """One instance down from t=0.5, back (two healthy samples) from t=2.5."""
    samples = [(0.5, False), (1.5, False), (2.5, True), (3.0, True)]
    log = ProbeLog(availability=[AvailabilitySample("health", t, ok, 0.01) for t, ok in samples])
    times = Timeline(deploy_started=0.0, rollback_started=1.0, rollback_ended=2.0)
    return measure_drill(log, times, {"health": 2})


def test_the_objectives_are_judged_on_the_drills_figures() -> None:
    figures = recovered()
    assert figures.availability[0].rto_s is not None
    assert verdict(figures=figures, rto_s=60) == ROLLED_BACK
    status, reason = verdict(figures=figures, rto_s=0.1)
    assert status == "failed" and reason.startswith("measured RTO ")


def test_a_failed_baseline_fails_the_drill_naming_its_step_host_and_error() -> None:
    prepare = phase("prepare", 0.0, "failed", "no such table: orders")
    state = DrillState(phases=[prepare], prepare_failed=True)
    playbook = Playbook(path="drill.yml", drill="d", rollback_type=2)
    ledger = SimpleNamespace(any_revert_failed=False, records=[])
    got = drill_verdict(state, playbook, ledger, Interrupts(lambda _: None), None, "")  # type: ignore[arg-type]
    assert got == (
        "failed",
        "baseline (prepare) failed: step 'prepare step' on web1: no such table: orders",
    )


def judged(state: DrillState, stuck: tuple[str, ...] = ()) -> tuple[str, str]:
    playbook = Playbook(path="drill.yml", drill="d", rollback_type=2)
    records = [SimpleNamespace(revert_failed=True, plan=SimpleNamespace(summary=s)) for s in stuck]
    ledger = SimpleNamespace(any_revert_failed=bool(stuck), records=records)
    return drill_verdict(state, playbook, ledger, Interrupts(lambda _: None), None, "")  # type: ignore[arg-type]


def test_a_failed_rollback_or_verify_fails_the_drill_naming_where() -> None:
    rollback = phase("rollback", 1.0, "failed", "exit 1")
    state = DrillState(phases=[phase("deploy", 0.0), rollback], rollback=rollback)
    assert judged(state) == ("failed", "rollback failed: step 'rollback step' on web1: exit 1")
    rollback, verify = phase("rollback", 1.0), phase("verify", 2.0, "failed", "HTTP 503")
    state = DrillState(phases=[phase("deploy", 0.0), rollback, verify])
    state.rollback, state.final_verify = rollback, verify
    assert judged(state) == ("failed", "verify failed: step 'verify step' on web1: HTTP 503")


def test_no_decision_in_time_fails_the_drill() -> None:
    from runner.engine.monitor import DecisionRecord

    state = DrillState(phases=[phase("deploy", 0.0)])
    state.decision = DecisionRecord("manual", 1.0, timed_out=True, proceed=False)
    assert judged(state) == ("failed", "no rollback decision in time (decision on_timeout: abort)")


def test_every_fault_not_reverted_is_named() -> None:
    state = DrillState(phases=[phase("deploy", 0.0)])
    assert judged(state, ("delay 200ms on web1", "kill nginx on web2")) == (
        "failed",
        "fault not reverted: delay 200ms on web1; kill nginx on web2 (see the manual commands)",
    )
