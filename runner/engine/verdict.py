"""The verdict on a finished drill: passed, failed, error or interrupted, and why; and the
drill's own times, which its measurements are taken against.

The order of the rules is the order of what matters most: an interrupt, a baseline that
failed, a fault not reverted, no decision in time, a failed rollback or verify (on any host,
even one `max_fail_percentage` tolerated), a rollback
over its budget, a change that never ran, a rollback in which no step ran. A drill that
passed those must still meet its objectives, and a rollback must have been checked: by a
verify step that ran after it, or else by every availability probe seeing the service
healthy after it. Broken measurement or a step the target could not carry out makes it an
error.
"""

from __future__ import annotations

from runner.engine.interrupts import Interrupts
from runner.engine.monitor import DrillMonitor
from runner.engine.outcome import (
    DETECTING_TRIGGERS,
    ERROR,
    FAILED,
    INTERRUPTED,
    NO_CHANGE_REASON,
    PASSED,
    change_ran,
    failure_reason,
    host_failure,
    objectives_verdict,
    only_unreachable,
    steps_ran,
    unsupported_reason,
)
from runner.engine.phases import DrillState
from runner.engine.results import PhaseResult
from runner.faults.ledger import FaultLedger
from runner.measure.figures import DrillFigures
from runner.measure.timeline import Timeline
from runner.playbook.model import Playbook


def drill_verdict(
    state: DrillState,
    playbook: Playbook,
    ledger: FaultLedger,
    interrupts: Interrupts,
    figures: DrillFigures | None,
    probe_failure: str,
) -> tuple[str, str]:
    """(status, reason) of the whole drill, objectives and measurement included."""
    status, reason = run_verdict(state, playbook, ledger, interrupts)
    if status == PASSED:
        status, reason = objectives_verdict(playbook, figures, reason)
    if status == PASSED and state.rollback is not None and not steps_ran(state.final_verify):
        status, reason = unverified_rollback_verdict(state.rollback, figures)
    unsupported = unsupported_reason(state.phases)
    if probe_failure and status != INTERRUPTED:
        # A dead probe worker leaves figures that stopped telling the truth: exit 3.
        status, reason = ERROR, f"measurement broken: {probe_failure}"
    elif unsupported and status != INTERRUPTED:
        # The drill could not be carried out as designed, whatever followed: exit 3.
        status, reason = ERROR, unsupported
    elif status == FAILED and only_unreachable(state.phases):
        status = ERROR  # the targets could not be reached: exit 3
    return status, reason


def run_verdict(
    state: DrillState, playbook: Playbook, ledger: FaultLedger, interrupts: Interrupts
) -> tuple[str, str]:
    """(status, reason) from what the run did, before its objectives are judged."""
    s = state
    rollback_ok = None if s.rollback is None else not s.rollback.failed
    if interrupts.interrupted():
        suffix = "; a fault was NOT reverted" if ledger.any_revert_failed else ""
        return INTERRUPTED, f"interrupted by {interrupts.signal_name}{suffix}"
    if s.prepare_failed:
        return FAILED, failure_reason("baseline (prepare) failed", s.phase_result("prepare"))
    if ledger.any_revert_failed:
        stuck = [r.plan.summary for r in ledger.records if r.revert_failed]
        return FAILED, f"fault not reverted: {'; '.join(stuck)} (see the manual commands)"
    if s.decision is not None and not s.decision.proceed:
        return FAILED, "no rollback decision in time (decision on_timeout: abort)"
    if rollback_ok is False:
        return FAILED, failure_reason("rollback failed", s.rollback)
    if s.final_verify is not None and s.final_verify.failed:
        return FAILED, failure_reason("verify failed", s.final_verify)
    for name, checked in (("rollback", s.rollback), ("verify", s.final_verify)):
        # A host that max_fail_percentage tolerated was still not rolled back, or not
        # verified: the drill did not prove the rollback there.
        failed_on = host_failure(checked)
        if failed_on is not None:
            step, host, why = failed_on
            return FAILED, (
                f"{name} failed on {host} (within max_fail_percentage, but not proven there): "
                f"step {step!r}: {why}"
            )
    budget = playbook.budget_s
    if s.rollback is not None and budget is not None and s.rollback.duration_s > budget:
        return (
            FAILED,
            f"rollback took {s.rollback.duration_s:.1f}s, over the type "
            f"{playbook.rollback_type} budget of {budget:g}s",
        )
    if not change_ran(s.phases):
        return FAILED, NO_CHANGE_REASON
    if s.rollback is not None:
        if not steps_ran(s.rollback) and not ledger.records:
            return FAILED, NO_ROLLBACK_REASON
        return PASSED, f"rolled back in {s.rollback.duration_s:.2f}s and verified"
    if not steps_ran(s.final_verify):
        return PASSED, "no rollback was needed; no verify step ran"
    return PASSED, "verified; no rollback was needed"


def unverified_rollback_verdict(
    rollback: PhaseResult, figures: DrillFigures | None
) -> tuple[str, str]:
    """A rollback no verify step checked: it passes only on the probes' word that every
    availability instance was healthy at the end (recovered, or never down) and saw it so
    after the rollback ended. Else the rollback is a claim nothing checked: it fails."""
    ended = rollback.started_mono + rollback.duration_s
    seen = figures.availability if figures is not None else ()
    strips = dict(figures.strips) if figures is not None else {}
    doubtful = [
        str(m.probe)
        for m in seen
        if not (m.recovered_at is not None or (m.no_incident and m.samples > 0))
        or not _healthy_after(strips.get(str(m.probe), ()), ended)
    ]
    if seen and not doubtful:
        return PASSED, (
            f"rolled back in {rollback.duration_s:.2f}s; no verify step ran, and the "
            "availability probes saw the service healthy afterwards"
        )
    unverified = "rolled back, but nothing verified it: no verify step ran, and "
    if not seen:
        return FAILED, unverified + "no availability probe saw the service healthy afterwards"
    return FAILED, unverified + (
        f"the availability probe {', '.join(doubtful)} did not see the service healthy afterwards"
    )


def _healthy_after(runs: tuple[tuple[float, float, bool | None], ...], ended: float) -> bool:
    """The probe's last sample was healthy and taken once the rollback had ended (the last
    run of equal verdicts ends at the last sample): a healthy verdict that only stood over
    the rollback's end was taken before it, and says nothing of the service after it."""
    return bool(runs) and runs[-1][2] is True and runs[-1][1] >= ended


NO_ROLLBACK_REASON = (
    "the rollback started, but no rollback step ran (the playbook's rollback phase is empty, "
    "or `when` skipped every step): nothing was rolled back"
)


def drill_timeline(
    state: DrillState, playbook: Playbook, ledger: FaultLedger, monitor: DrillMonitor
) -> Timeline:
    """The drill's own times; each probe adds its samples to them when measured."""
    s = state
    injected = [r.injected_mono for r in ledger.records if r.injected_mono is not None]
    trigger = s.trigger if s.trigger and s.trigger.kind in DETECTING_TRIGGERS else None
    return Timeline(
        deploy_started=monitor.deploy_started,
        first_fault_injected=min(injected, default=None),
        detected=trigger.mono if trigger else None,
        decided=s.decided_mono if trigger else None,
        rollback_started=s.rollback.started_mono if s.rollback else None,
        rollback_ended=s.rollback.started_mono + s.rollback.duration_s if s.rollback else None,
        verify_ended=monitor.verify_ended,
        window_from=_window_from(state, playbook),
    )


def _window_from(state: DrillState, playbook: Playbook) -> float | None:
    """`measure_from: prepare` judges from the start of prepare (else: from deploy)."""
    prepare = state.phase_result("prepare")
    if playbook.measure_from == "prepare" and prepare is not None:
        return prepare.started_mono
    return None
