"""How a drill ended: its status and reason, the trigger, and the verdict rules behind them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from runner.engine.results import SKIPPED, UNREACHABLE, HostResult, PhaseResult, StepResult
from runner.errors import ExitCode
from runner.faults.ledger import FaultRecord
from runner.journal_events import Event
from runner.measure.figures import (
    DrillFigures,
    baseline_verdict,
    blind_instances,
    measured_without_probes,
    unrecovered_instance,
    unseen_recoveries,
)
from runner.measure.timeline import Timeline
from runner.playbook.checklists import Confirmation
from runner.playbook.model import Playbook
from runner.provenance import Approval

PASSED, FAILED, ERROR, INTERRUPTED = "passed", "failed", "error", "interrupted"
EXIT_CODES = {
    PASSED: ExitCode.PASSED,
    FAILED: ExitCode.FAILED,
    ERROR: ExitCode.ENVIRONMENT,
    INTERRUPTED: ExitCode.INTERRUPTED,
}


# Triggers that detect an incident (their time is the detection), unlike a rehearsal or
# an interrupt: a probe rule, an alert firing in monitoring, a failed step.
DETECTING_TRIGGERS = ("probe", "alert", "step_failed")


@dataclass(frozen=True)
class Trigger:
    """What decided the rollback."""

    kind: str
    phase: str = ""
    step: str = ""
    host: str = ""
    detail: str = ""
    at: str = ""
    mono: float = 0.0
    probe: str = ""


@dataclass(frozen=True)
class DrillOutcome:
    status: str
    reason: str
    phases: tuple[PhaseResult, ...]
    started_at: str
    ended_at: str
    started_mono: float
    ended_mono: float
    rolled_back: bool
    rollback_succeeded: bool | None
    trigger: Trigger | None
    decided_mono: float | None = None
    interrupted_by: str = ""
    faults: tuple[FaultRecord, ...] = ()
    figures: DrillFigures | None = None
    confirmations: dict[str, Confirmation] = field(default_factory=dict)
    approvals: tuple[Approval, ...] = ()  # who approved the rollback, when

    @property
    def exit_code(self) -> int:
        return int(EXIT_CODES[self.status])

    def phase(self, name: str) -> PhaseResult | None:
        found = [p for p in self.phases if p.phase == name and p.ran]
        return found[-1] if found else None

    def steps(self) -> list[StepResult]:
        return [s for p in self.phases for s in p.steps]


def host_failures(phases: Sequence[PhaseResult]) -> list[HostResult]:
    return [h for p in phases for st in p.steps for h in st.hosts if h.failed]


def unsupported_reason(phases: Sequence[PhaseResult]) -> str:
    """Why a target could not carry a step (e.g. no kernel support for a fault), or ''."""
    for h in host_failures(phases):
        if h.data.get("environment_error"):
            return f"{h.host}: {h.msg}"
    return ""


def only_unreachable(phases: Sequence[PhaseResult]) -> bool:
    """Every host failure of the run was an unreachable target."""
    failures = host_failures(phases)
    return bool(failures) and all(h.status == UNREACHABLE for h in failures)


NO_CHANGE_REASON = (
    "no change step ran (nothing in deploy or inject was executed; see --tags, --skip-tags "
    "and `when`): the drill proved nothing"
)


def steps_ran(phase: PhaseResult | None) -> bool:
    """A step of `phase` ran on some host (skipped by `when` does not count)."""
    return phase is not None and any(h.status != SKIPPED for st in phase.steps for h in st.hosts)


def host_failure(phase: PhaseResult | None) -> tuple[str, str, str] | None:
    """(step, host, why) of the first host `phase` failed on, even within the tolerance of
    `max_fail_percentage` (which keeps the step going, not the host proven); None if none."""
    for st in phase.steps if phase is not None else ():
        for h in st.hosts:
            if h.failed:
                return st.step.name, h.host, h.msg
    return None


def rollback_proven(
    *, completed: bool, failed_on_a_host: bool, did_something: bool, left_a_fault: bool
) -> bool:
    """The rule for a rollback that succeeded, for the drill's outcome and for result.json
    and its rebuild from the journal alike: its phase completed, it failed on no host (not
    even one `max_fail_percentage` tolerates), it did something (a step ran on some host, or
    there was a fault to take back) and it left no fault in effect."""
    return completed and not failed_on_a_host and did_something and not left_a_fault


def change_ran(phases: Sequence[PhaseResult]) -> bool:
    """A step of deploy or inject ran on some host."""
    return any(steps_ran(p) for p in phases if p.phase in ("deploy", "inject"))


def failure_reason(prefix: str, phase: PhaseResult | None) -> str:
    step = phase.first_failure() if phase else None
    if step is None:
        return prefix
    host = step.first_failure()
    where = f" on {host.host}: {host.msg}" if host else ""
    return f"{prefix}: step {step.step.name!r}{where}"


MET, MISSED, NOT_MEASURED = "met", "missed", "not measured"


def objective_verdict(
    measured: float | None, objective: float | None, *, lower_bound: bool = False
) -> str | None:
    """An objective's verdict: None without an objective; `met` only when the drill measured
    a figure within it; `missed` when the figure (even a lower bound) is over it; else `not
    measured`, which fails the drill like a miss (it did not prove the objective)."""
    if objective is None:
        return None
    if measured is None:
        return NOT_MEASURED
    if measured > objective:
        return MISSED
    return NOT_MEASURED if lower_bound else MET


def objectives_verdict(
    playbook: Playbook, figures: DrillFigures | None, reason: str
) -> tuple[str, str]:
    """A drill that rolled back but missed its RTO or RPO objective, or could not measure
    it, has failed; the reason names every objective that was not met, and why."""
    # Unknown samples are no evidence of health: a probe that saw nothing, or nothing after
    # the incident, proved no recovery, whatever the objectives say.
    blind = blind_instances(figures) if figures is not None else []
    if blind:
        names = ", ".join(str(m.probe) for m in blind)
        return FAILED, f"availability not observed: every sample of {names} was unknown"
    unseen = unseen_recoveries(figures) if figures is not None else []
    if unseen:
        names = ", ".join(str(m.probe) for m in unseen)
        return FAILED, f"no recovery observed by {names}: only unknown samples after the incident"
    worst = figures.worst() if figures is not None else None
    if worst is not None and unrecovered_instance(worst):
        return FAILED, f"no lasting recovery observed by {worst.probe} after the incident"
    measured = figures.as_result() if figures is not None else measured_without_probes(None, None)
    problems = []
    for name, objective in (("RTO", playbook.objectives.rto_s), ("RPO", playbook.objectives.rpo_s)):
        key = f"{name.lower()}_s"
        value = measured[key]
        bound = name == "RPO" and bool(measured.get("rpo_lower_bound"))
        verdict = objective_verdict(value, objective, lower_bound=bound)
        if verdict == MISSED:
            shown = f"≥ {value:.2f}s" if bound else f"{value:.2f}s"
            problems.append(f"measured {name} {shown} is over the objective of {objective:g}s")
        elif verdict == NOT_MEASURED:
            why = measured["reasons"].get(key, "")
            if value is not None:  # a lower bound within the objective proves nothing
                why = f"only a lower bound (≥ {value:.2f}s) was measured"
            problems.append(f"{name} objective of {objective:g}s not measured: {why}")
    if problems:
        return FAILED, "; ".join(problems)
    return PASSED, reason


# The journal event that holds the runner's own numbers (see `measured_record`).
MEASURED_EVENT = Event.MEASURED


def measured_record(
    outcome: DrillOutcome, playbook: Playbook, times: Timeline | None, healthy_after: dict[str, int]
) -> dict[str, Any]:
    """What the runner measured with, for the journal: one clock for result.json and rebuilds.

    The run's start and end, the drill's times and the figures exactly as the runner had
    them (monotonic seconds, unrounded), so a result rebuilt from the journal reads these
    numbers instead of re-deriving them from the moments events were written.
    """
    timeline = None
    if times is not None:
        timeline = {k: v for k, v in asdict(times).items() if k not in ("samples", "probe")}
    return {
        "status": outcome.status,
        "reason": outcome.reason,
        "started_at": outcome.started_at,
        "ended_at": outcome.ended_at,
        "started_mono": outcome.started_mono,
        "ended_mono": outcome.ended_mono,
        "decided_mono": outcome.decided_mono,
        "objectives": {"rto_s": playbook.objectives.rto_s, "rpo_s": playbook.objectives.rpo_s},
        "budget_s": playbook.budget_s,
        "timeline": timeline,
        "healthy_after": healthy_after,
        "figures": None if outcome.figures is None else outcome.figures.as_result(),
        "baseline": baseline_verdict(outcome.figures),
    }
