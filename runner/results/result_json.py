"""The runner's RunResult: the facts of a finished run, from its outcome and playbook.

The result is completed by runner.results.assemble, the same code a rebuild from the
journal goes through (runner.history.rebuild); result.json is its serialisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.engine.outcome import DrillOutcome, steps_ran
from runner.measure.figures import (
    baseline_verdict,
    measured_without_probes,
)
from runner.playbook.checklists import evaluate
from runner.playbook.model import Playbook
from runner.provenance import RunEvidence
from runner.results.assemble import NO_ROLLBACK_STEP, assemble, figure_blocks
from runner.results.codec import decode, decode_value
from runner.results.model import (
    ChecklistResult,
    FaultResult,
    LimitVerdict,
    Measured,
    Objectives,
    PhaseResult,
    ProvenanceResult,
    RunKind,
    RunResult,
    Status,
    StepHostResult,
    TriggerResult,
    Verdicts,
)


@dataclass(frozen=True)
class RunIdentity:
    run_id: str
    environment: str
    operator: str
    change_id: str
    inventory: str
    kind: str = "drill"
    plan_entry: str = ""


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def measurements(outcome: DrillOutcome) -> dict[str, Any]:
    """Figures measured from the run; a figure that was not measured is None, never a guess.

    A rollback that did nothing has no time to roll back (as `assemble` judges result.json),
    so the run's last notification says what its result.json says."""
    measured = _measured(outcome)
    rollback = outcome.phase("rollback")
    if rollback is not None and not (steps_ran(rollback) or outcome.faults):
        reasons = {**measured["reasons"], "time_to_rollback_s": NO_ROLLBACK_STEP}
        measured = {**measured, "time_to_rollback_s": None, "reasons": reasons}
    return measured


def _measured(outcome: DrillOutcome) -> dict[str, Any]:
    if outcome.figures is not None:
        return outcome.figures.as_result()
    rollback = outcome.phase("rollback")
    trigger = outcome.trigger
    detected = trigger.mono if trigger and trigger.mono else None
    decide = None
    if detected is not None and outcome.decided_mono is not None:
        decide = max(0.0, outcome.decided_mono - detected)
    return measured_without_probes(decide, rollback.duration_s if rollback else None)


def build_result(
    playbook: Playbook,
    outcome: DrillOutcome,
    ident: RunIdentity,
    evidence: RunEvidence | None = None,
) -> RunResult:
    """The run's result; `evidence` is the run's provenance (None only in unit tests)."""
    figures = outcome.figures
    trigger = outcome.trigger
    baseline: LimitVerdict | None = decode_value(LimitVerdict | None, baseline_verdict(figures))
    facts = RunResult(
        run_id=ident.run_id,
        drill=playbook.drill,
        component=playbook.component or None,
        playbook=playbook.path,
        inventory=ident.inventory,
        environment=ident.environment or None,
        operator=ident.operator,
        change_id=ident.change_id or None,
        kind=decode_value(RunKind, ident.kind),
        plan_entry=ident.plan_entry or None,
        status=decode_value(Status, outcome.status),
        reason=outcome.reason,
        started_at=outcome.started_at,
        ended_at=outcome.ended_at,
        duration_s=round(outcome.ended_mono - outcome.started_mono, 3),
        rollback_type=playbook.rollback_type,
        objectives=Objectives(playbook.objectives.rto_s, playbook.objectives.rpo_s),
        budget_s=playbook.budget_s,
        measured=decode(Measured, measurements(outcome)),
        verdicts=Verdicts(None, None, None, baseline),
        **figure_blocks(figures, outcome.started_at, outcome.started_mono).fields(),
        rolled_back=outcome.rolled_back,
        rollback_succeeded=outcome.rollback_succeeded,
        trigger=None
        if trigger is None
        else decode(
            TriggerResult, {k: v for k, v in trigger.__dict__.items() if k != "mono" and v != ""}
        ),
        faults=tuple(
            FaultResult(
                kind=f.plan.kind,
                targets=(f.plan.host,),
                summary=f.plan.summary,
                injected_at=f.injected_at or None,
                reverted_at=f.reverted_at or None,
                revert_failed=f.revert_failed,
            )
            for f in outcome.faults
        ),
        checklists=tuple(
            decode(ChecklistResult, c)
            for c in evaluate(playbook.checklists, _step_statuses(outcome), outcome.confirmations)
        ),
        phases=tuple(
            decode(
                PhaseResult,
                {
                    "phase": p.phase,
                    "status": "skipped" if not p.ran else ("failed" if p.failed else "ok"),
                    "started_at": p.started_at,
                    "duration_s": _round(p.duration_s),
                    "skipped_reason": p.skipped_reason,
                },
            )
            for p in outcome.phases
        ),
        steps=tuple(
            decode(
                StepHostResult,
                {
                    "phase": s.step.phase,
                    "name": s.step.name,
                    "action": s.step.action,
                    "host": h.host,
                    "status": h.status,
                    "started_at": h.started_at,
                    "duration_s": _round(h.duration_s),
                    "rc": h.rc,
                    "attempts": h.attempts,
                    "msg": h.msg,
                },
            )
            for s in outcome.steps()
            for h in s.hosts
        ),
        provenance=None if evidence is None else decode(ProvenanceResult, evidence.as_json()),
    )
    return assemble(facts)


def _step_statuses(outcome: DrillOutcome) -> dict[str, list[str]]:
    statuses: dict[str, list[str]] = {}
    for step in outcome.steps():
        statuses.setdefault(step.step.name, []).extend(h.status for h in step.hosts)
    return statuses
