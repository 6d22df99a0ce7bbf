"""The quarterly rollback report's figures: pure functions of the recorded runs.

What the rollback procedures ask to track (seed, "METRICS"): time to the rollback decision,
time to complete the rollback, rollback success rate, data-loss incidents and repeat
rollbacks, against the targets below, plus RTO/RPO attainment per component. Durations are
given as p50/p90/max (and mean, which the "average" target needs): one slow rollback is the
finding, and a mean alone would hide it. Renderers live in quarterly_md and quarterly_html.

Drills (rehearsals) and incidents (real rollbacks run with drillctl, `run --kind incident`) are
figured apart: the procedures' metrics concern real rollbacks, and a quarter of green drills
must not read as a quarter of good incident response. Voided runs are listed, never counted.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runner import __version__
from runner.history.quarter import Quarter
from runner.history.rows import INCIDENT, RunRow
from runner.plans.status import EntryStatus
from runner.report.listed_runs import Evidence as Evidence
from runner.report.listed_runs import FailedRun as FailedRun
from runner.report.listed_runs import VoidedRun as VoidedRun
from runner.report.listed_runs import failed_runs, voided_runs

ALL = "all components"
# Trigger kinds that are no fault of the change: a rehearsal or an operator's Ctrl-C.
_NOT_A_CAUSE = frozenset({"rehearsal", "interrupt"})
DECISION_TARGET_S = 15 * 60.0
COMPLETION_TARGET_S = 30 * 60.0


@dataclass(frozen=True)
class Ratio:
    """`hits` of `total`; `value` is None when nothing could be judged."""

    hits: int
    total: int
    value: float | None

    @classmethod
    def of(cls, hits: int, total: int) -> Ratio:
        return cls(hits, total, round(hits / total, 4) if total else None)


@dataclass(frozen=True)
class Spread:
    """One duration over the runs that measured it (None: no run did)."""

    count: int
    p50: float | None
    p90: float | None
    max: float | None
    mean: float | None


@dataclass(frozen=True)
class Repeat:
    """Rollbacks of one component for the same cause, more than once in the quarter."""

    component: str
    cause: str
    run_ids: tuple[str, ...]


@dataclass(frozen=True)
class Figures:
    """The tracked metrics over a set of runs (one component, or all of them)."""

    component: str
    runs: int
    by_status: dict[str, int]
    rto_attainment: Ratio
    rpo_attainment: Ratio
    detect: Spread
    decide: Spread
    rollback: Spread
    recover: Spread
    rollback_success: Ratio
    data_loss_runs: tuple[str, ...]
    # None when the runs do not tell: no loss was found and a run did not measure its loss
    # (no data probe, a failed read-back). A zero there would claim what nobody measured.
    lost_writes: int | None
    repeats: tuple[Repeat, ...]

    @property
    def data_loss_incidents(self) -> int | None:
        """Runs that lost writes; None when none was found but a run did not measure it."""
        return None if self.lost_writes is None else len(self.data_loss_runs)

    @property
    def repeat_rollbacks(self) -> int:
        """Rollbacks beyond the first for each cause."""
        return sum(len(r.run_ids) - 1 for r in self.repeats)


@dataclass(frozen=True)
class TargetCheck:
    """One seed target: `met` is None when the quarter has no figure to judge it by."""

    name: str
    target: str
    actual: float | None
    unit: str
    met: bool | None


@dataclass(frozen=True)
class Change:
    """A metric this quarter beside the previous one."""

    metric: str
    unit: str
    current: float | None
    previous: float | None


@dataclass(frozen=True)
class QuarterlyReport:
    quarter: str
    previous_quarter: str
    total: Figures
    components: tuple[Figures, ...]
    targets: tuple[TargetCheck, ...]
    changes: tuple[Change, ...]
    previous_runs: int
    failed: tuple[FailedRun, ...]
    plan: tuple[EntryStatus, ...] | None
    # Real rollbacks, apart from the drills above; None when the quarter had none.
    incidents: Figures | None = None
    incident_targets: tuple[TargetCheck, ...] = ()
    voided: tuple[VoidedRun, ...] = ()
    generated_at: str = ""
    drillctl_version: str = __version__


def spread(values: Sequence[float | None]) -> Spread:
    """p50/p90 by linear interpolation between order statistics (numpy's default)."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return Spread(0, None, None, None, None)
    if len(data) == 1:
        p50 = p90 = data[0]
    else:
        deciles = statistics.quantiles(data, n=10, method="inclusive")
        p50, p90 = deciles[4], deciles[8]
    return Spread(len(data), _r(p50), _r(p90), _r(data[-1]), _r(statistics.fmean(data)))


def _r(value: float) -> float:
    return round(value, 3)


def objective_verdict(verdict: str | None, objective: float | None, figure: float | None) -> str:
    """met, missed, not measured (an objective set that the run could not measure: not met,
    as it fails the run), or '' when the run set no objective to judge."""
    if verdict in ("met", "missed"):
        return verdict
    if verdict == "not measured" or (objective is not None and figure is None):
        return "not measured"
    return ""


def _attainment(runs: Sequence[RunRow], key: str) -> Ratio:
    judged = [
        objective_verdict(
            getattr(r, f"verdict_{key}"), getattr(r, f"objective_{key}_s"), getattr(r, f"{key}_s")
        )
        for r in runs
    ]
    judged = [v for v in judged if v]
    return Ratio.of(judged.count("met"), len(judged))


def cause_of(run: RunRow) -> str | None:
    """What made a run roll back, as `kind: detail`; None for rehearsals and interrupts."""
    if not run.rolled_back or run.trigger_kind is None or run.trigger_kind in _NOT_A_CAUSE:
        return None
    return f"{run.trigger_kind}: {run.trigger_detail or ''}".rstrip(": ")


def repeats(runs: Sequence[RunRow]) -> tuple[Repeat, ...]:
    """Same component, same cause, more than once: the seed's "repeat rollbacks"."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for run in runs:
        cause = cause_of(run)
        if cause is not None:
            groups[(run.component or "", cause)].append(run.run_id)
    return tuple(
        Repeat(component, cause, tuple(ids))
        for (component, cause), ids in sorted(groups.items())
        if len(ids) > 1
    )


def loss_known(runs: Sequence[RunRow]) -> bool:
    """Whether the runs tell their data loss: one lost writes (that stands regardless), or
    every run measured it. "No loss" is a claim about every run."""
    measured = [r.lost_writes for r in runs]
    return any((v or 0) > 0 for v in measured) or (bool(runs) and None not in measured)


def figures(component: str, runs: Sequence[RunRow]) -> Figures:
    rolled_back = [r for r in runs if r.rolled_back]
    losses = [r for r in runs if (r.lost_writes or 0) > 0]
    return Figures(
        component=component,
        runs=len(runs),
        by_status=dict(sorted(Counter(r.status for r in runs).items())),
        rto_attainment=_attainment(runs, "rto"),
        rpo_attainment=_attainment(runs, "rpo"),
        detect=spread([r.time_to_detect_s for r in runs]),
        decide=spread([r.time_to_decide_s for r in runs]),
        rollback=spread([r.time_to_rollback_s for r in runs]),
        recover=spread([r.rto_s for r in runs]),
        rollback_success=Ratio.of(
            sum(1 for r in rolled_back if r.rollback_succeeded is True), len(rolled_back)
        ),
        data_loss_runs=tuple(r.run_id for r in losses),
        lost_writes=sum(r.lost_writes or 0 for r in runs) if loss_known(runs) else None,
        repeats=repeats(runs),
    )


def targets(total: Figures, runs: Sequence[RunRow]) -> tuple[TargetCheck, ...]:
    """The seed's target metrics, judged on the quarter's runs."""
    success = total.rollback_success.value
    # No incident is a claim about every run: one whose loss was not measured (no data
    # probe, a failed read-back) could hide one. An incident found stands regardless.
    incidents = len(total.data_loss_runs)
    known = loss_known(runs)
    decide_max, rollback_mean = total.decide.max, total.rollback.mean
    return (
        TargetCheck(
            "rollback success", "100 %", success, "ratio", None if success is None else success == 1
        ),
        TargetCheck(
            "data-loss incidents",
            "0",
            float(incidents) if known else None,
            "runs",
            (incidents == 0) if known else None,
        ),
        TargetCheck(
            "repeat rollbacks",
            "0",
            float(total.repeat_rollbacks),
            "runs",
            total.repeat_rollbacks == 0 if total.runs else None,
        ),
        TargetCheck(
            "time to decision (slowest)",
            "< 15 min",
            decide_max,
            "seconds",
            None if decide_max is None else decide_max < DECISION_TARGET_S,
        ),
        TargetCheck(
            "time to complete the rollback (average)",
            "< 30 min",
            rollback_mean,
            "seconds",
            None if rollback_mean is None else rollback_mean < COMPLETION_TARGET_S,
        ),
    )


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)


def changes(current: Figures, previous: Figures) -> tuple[Change, ...]:
    def pair(metric: str, unit: str, get: Callable[[Figures], float | None]) -> Change:
        return Change(metric, unit, get(current), get(previous) if previous.runs else None)

    return (
        pair("runs", "runs", lambda f: float(f.runs)),
        pair("rollback success", "ratio", lambda f: f.rollback_success.value),
        pair("RTO attainment", "ratio", lambda f: f.rto_attainment.value),
        pair("RPO attainment", "ratio", lambda f: f.rpo_attainment.value),
        pair("data-loss incidents", "runs", lambda f: _float(f.data_loss_incidents)),
        pair("repeat rollbacks", "runs", lambda f: float(f.repeat_rollbacks)),
        pair("time to decide p90", "seconds", lambda f: f.decide.p90),
        pair("time to roll back p90", "seconds", lambda f: f.rollback.p90),
        pair("time to roll back mean", "seconds", lambda f: f.rollback.mean),
        pair("time to recover p90", "seconds", lambda f: f.recover.p90),
    )


def build(
    quarter: Quarter,
    runs: Sequence[RunRow],
    previous: Sequence[RunRow],
    *,
    plan: Sequence[EntryStatus] | None = None,
    link_base: Path | None = None,
    generated_at: str | None = None,
) -> QuarterlyReport:
    """The report of `quarter` from its runs and the previous quarter's (voided runs listed,
    not counted; drills and incidents figured apart)."""
    live = [r for r in runs if not r.voided]
    drills = [r for r in live if r.kind != INCIDENT]
    incidents = [r for r in live if r.kind == INCIDENT]
    previous_drills = [r for r in previous if not r.voided and r.kind != INCIDENT]
    by_component: dict[str, list[RunRow]] = defaultdict(list)
    for run in drills:
        by_component[run.component or "(no component)"].append(run)
    total = figures(ALL, drills)
    incident_figures = figures(ALL, incidents) if incidents else None
    when = generated_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    return QuarterlyReport(
        quarter=str(quarter),
        previous_quarter=str(quarter.previous()),
        total=total,
        components=tuple(figures(c, rs) for c, rs in sorted(by_component.items())),
        targets=targets(total, drills),
        changes=changes(total, figures(ALL, previous_drills)),
        previous_runs=len(previous_drills),
        failed=failed_runs([*drills, *incidents], link_base),
        plan=None if plan is None else tuple(plan),
        incidents=incident_figures,
        incident_targets=() if incident_figures is None else targets(incident_figures, incidents),
        voided=voided_runs(runs, link_base),
        generated_at=when.replace("+00:00", "Z"),
    )


def to_json(report: QuarterlyReport) -> dict[str, Any]:
    """A plain dict: the same runs give the same JSON, apart from `generated_at`."""
    data = asdict(report)
    for fig in (data["total"], *data["components"], *filter(None, [data["incidents"]])):
        fig["repeat_rollbacks"] = sum(len(r["run_ids"]) - 1 for r in fig["repeats"])
    if data["plan"] is not None:
        for entry in data["plan"]:
            entry["due"] = str(entry["due"])
    return {"report": "drillctl quarterly", "version": 1, **data}
