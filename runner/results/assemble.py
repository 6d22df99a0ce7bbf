"""The one place a RunResult is completed, for the runner and for a rebuild from a journal.

Both build the facts (who ran what, when, what was measured, what happened on each host)
and hand them here; the verdicts against the objectives and budget, and the issues every
report lists, are derived from those facts by this code alone, so a rebuilt result cannot
judge a run differently from the runner that wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

from runner.engine.outcome import objective_verdict, rollback_proven
from runner.measure.figures import (
    DrillFigures,
    availability_block,
    baseline_block,
    data_block,
    timeline_block,
)
from runner.results.codec import decode, encode
from runner.results.model import (
    AvailabilityStrip,
    BaselineResult,
    DataProbeResult,
    IncidentTimeline,
    IssueResult,
    LimitVerdict,
    Measured,
    NoTimeline,
    ObjectiveVerdict,
    RunResult,
    Verdicts,
)
from runner.results.verdict import FAILING, verdict_of


@dataclass(frozen=True)
class FigureBlocks:
    """The per-probe blocks of result.json, from the figures measured from the samples."""

    timeline: IncidentTimeline | NoTimeline
    data: tuple[DataProbeResult, ...]
    baseline: tuple[BaselineResult, ...]
    availability: tuple[AvailabilityStrip, ...]

    def fields(self) -> dict[str, Any]:
        """As RunResult's keyword arguments."""
        return {
            "timeline": self.timeline,
            "data": self.data,
            "baseline": self.baseline,
            "availability": self.availability,
        }


def figure_blocks(
    figures: DrillFigures | None, started_at: str, started_mono: float
) -> FigureBlocks:
    """timeline, data, baseline and availability; empty for a run without probes."""
    if figures is None:
        return FigureBlocks(NoTimeline(), (), (), ())
    timeline: IncidentTimeline | NoTimeline = NoTimeline()
    if figures.worst() is not None:
        timeline = decode(IncidentTimeline, timeline_block(figures, started_at, started_mono))
    return FigureBlocks(
        timeline,
        tuple(decode(DataProbeResult, d) for d in data_block(figures)),
        tuple(decode(BaselineResult, b) for b in baseline_block(figures)),
        tuple(decode(AvailabilityStrip, a) for a in availability_block(figures, started_mono)),
    )


def limit_verdict(measured: float | None, limit: float | None) -> LimitVerdict | None:
    """'met', 'missed', or None when either side is unknown."""
    if measured is None or limit is None:
        return None
    return "met" if measured <= limit else "missed"


def rollback_succeeded(facts: RunResult) -> bool | None:
    """The rollback succeeded: it failed on no host, it did something (a rollback step ran
    on a host, or a fault was taken back) and it left no fault in effect. A rollback whose
    every step was skipped, or that left a fault behind, proved nothing: it is no success,
    in result.json as in the history's rollback success rate. None when no rollback ran."""
    if not facts.rolled_back or facts.rollback_succeeded is None:
        return facts.rollback_succeeded
    statuses = [s.status for s in facts.steps if s.phase == "rollback"]
    return rollback_proven(
        completed=facts.rollback_succeeded,
        failed_on_a_host=any(status in FAILING for status in statuses),
        did_something=rollback_did_something(facts),
        left_a_fault=any(f.revert_failed for f in facts.faults),
    )


NO_ROLLBACK_STEP = "not measured: no rollback step ran and no fault was reverted"


def rollback_did_something(facts: RunResult) -> bool:
    """A rollback step ran on some host (`when` skipping it does not count), or a fault was
    there to take back."""
    ran = any(s.phase == "rollback" and s.status != "skipped" for s in facts.steps)
    return ran or bool(facts.faults)


def rollback_measured(facts: RunResult) -> Measured:
    """`facts.measured`, without a time to roll back for a rollback that did nothing: the
    phase's few milliseconds time no rollback, and would meet any budget and pull the
    quarter's rollback times down."""
    measured = facts.measured
    if not facts.rolled_back or rollback_did_something(facts):
        return measured
    if measured.time_to_rollback_s is None:
        return measured
    reasons = {**measured.reasons, "time_to_rollback_s": NO_ROLLBACK_STEP}
    return replace(measured, time_to_rollback_s=None, reasons=reasons)


def assemble(facts: RunResult) -> RunResult:
    """`facts` with its verdicts, issues and rollback success derived.

    `facts.verdicts.baseline` is kept: it is judged from latency samples
    (runner.measure.figures.baseline_verdict), not here."""
    facts = replace(facts, measured=rollback_measured(facts))
    measured, objectives = facts.measured, facts.objectives
    verdicts = Verdicts(
        rto=cast(ObjectiveVerdict | None, objective_verdict(measured.rto_s, objectives.rto_s)),
        rpo=cast(
            ObjectiveVerdict | None,
            objective_verdict(
                measured.rpo_s, objectives.rpo_s, lower_bound=bool(measured.rpo_lower_bound)
            ),
        ),
        budget=limit_verdict(measured.time_to_rollback_s, facts.budget_s),
        baseline=facts.verdicts.baseline,
    )
    judged = replace(
        facts, verdicts=verdicts, issues=(), rollback_succeeded=rollback_succeeded(facts)
    )
    issues = verdict_of(encode(judged)).issues
    return replace(
        judged, issues=tuple(decode(IssueResult, {"kind": i.kind, "text": i.text}) for i in issues)
    )
