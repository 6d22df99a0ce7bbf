"""One phase of a drill: its steps in order on their hosts, and what the run keeps between
phases (the phases so far, the trigger, the hosts dropped from the change, the undo stack).

A step that fails in `deploy`, `inject` or `verify` fires the `step_failed` trigger and
ends its phase; `cleanup` does its best and goes on. Hosts that failed (within
`max_fail_percentage`) drop out of the rest of the change only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from runner.engine.interrupts import Interrupts
from runner.engine.monitor import DecisionRecord, DrillMonitor
from runner.engine.outcome import Trigger
from runner.engine.plan import DrillPlan, StepPlan
from runner.engine.results import PhaseResult, StepResult
from runner.engine.steps import StepRunner
from runner.engine.undo import UndoStack
from runner.faults.blast import select_targets
from runner.inventory.model import Host
from runner.journal import Journal, utc_now
from runner.journal_events import Event
from runner.playbook.model import ROLLBACK_STARTERS


@dataclass
class DrillState:
    """What a run has done so far, read by the phases that follow and by the verdict."""

    phases: list[PhaseResult] = field(default_factory=list)
    trigger: Trigger | None = None
    decided_mono: float | None = None
    rollback: PhaseResult | None = None
    final_verify: PhaseResult | None = None
    prepare_failed: bool = False
    dropped: set[str] = field(default_factory=set)
    undos: UndoStack = field(default_factory=UndoStack)
    current_phase: str = ""
    decision: DecisionRecord | None = None

    def phase_result(self, name: str) -> PhaseResult | None:
        """The phase `name` if it ran (a skipped phase is not a result)."""
        return next((p for p in self.phases if p.phase == name and p.ran), None)

    def change_began(self) -> bool:
        return any(p.ran for p in self.phases if p.phase in ("deploy", "inject"))


class PhaseHooks(Protocol):
    """Where a phase reports its progress (the run's hooks)."""

    @property
    def phase_started(self) -> Callable[[str], None]: ...
    @property
    def phase_skipped(self) -> Callable[[str, str], None]: ...
    @property
    def step_started(self) -> Callable[[Any, list[Any]], None]: ...
    @property
    def step_finished(self) -> Callable[[str, Any, Any], None]: ...
    @property
    def notice(self) -> Callable[[str], None]: ...


class PhaseRunner:
    """Runs and skips the phases of one drill, and fires its triggers, into `state`."""

    def __init__(
        self,
        plan: DrillPlan,
        journal: Journal,
        hooks: PhaseHooks,
        interrupts: Interrupts,
        monitor: DrillMonitor,
        hosts: dict[str, Host],
        state: DrillState,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.hooks = hooks
        self.interrupts = interrupts
        self.monitor = monitor
        self.hosts = hosts
        self.state = state

    def fire(self, trigger: Trigger) -> None:
        """The rollback is decided: keep why, journal it and tell the user."""
        self.state.trigger = trigger
        self.journal.record(Event.TRIGGER_FIRED, **trigger.__dict__)
        self.hooks.notice(f"rollback triggered: {trigger.detail or trigger.kind}")

    def skip(self, phase: str, why: str) -> None:
        at = utc_now()
        self.journal.record(Event.PHASE_SKIPPED, phase=phase, reason=why, started_at=at)
        self.hooks.phase_skipped(phase, why)
        self.state.phases.append(PhaseResult(phase, (), at, time.monotonic(), 0.0, why))

    def run(
        self, runner: StepRunner, phase: str, plans: tuple[StepPlan, ...] | None = None
    ) -> PhaseResult:
        """Run the phase's steps (or `plans`, such as the automatic rollback's) in order."""
        plans = self.plan.steps.get(phase, ()) if plans is None else plans
        started_at, started = utc_now(), time.monotonic()
        self.journal.record(Event.PHASE_STARTED, phase=phase, started_at=started_at)
        self.hooks.phase_started(phase)
        self.state.current_phase = phase
        self.interrupts.enter(phase)
        if phase == "deploy":
            self.monitor.change_begins()
        results: list[StepResult] = []
        for plan in plans:
            if self.interrupts.token.cancelled:
                break
            # Hosts that failed (within max_fail_percentage) drop out of the rest of the
            # change; rollback, verify and cleanup still run on every host.
            in_change = phase in ("deploy", "inject")
            hosts = [h for h in plan.hosts if not (in_change and h.name in self.state.dropped)]
            if plan.step.action == "fault" and isinstance(plan.step.args, dict):
                hosts, seed = select_targets(hosts, plan.step.args)
                self.journal.record(
                    Event.FAULT_TARGETS,
                    step=plan.step.name,
                    hosts=[h.name for h in hosts],
                    seed=seed,
                )
            if not hosts:
                continue
            self.hooks.step_started(plan.step, hosts)
            result = runner.run(plan.step, hosts)
            self.hooks.step_finished(phase, plan.step, result)
            results.append(result)
            self.state.dropped.update(result.failed_hosts())
            self.state.undos.note_state(result)
            if phase == "deploy":
                self.state.undos.record(result, self.hosts, self.journal)
            if result.failed:
                if (
                    phase in ROLLBACK_STARTERS
                    and self.state.trigger is None
                    and not self.interrupts.interrupted()
                ):
                    failure = result.first_failure()
                    self.fire(
                        Trigger(
                            "step_failed",
                            phase,
                            plan.step.name,
                            failure.host if failure else "",
                            f"step {plan.step.name!r} failed in {phase}"
                            + (f" on {failure.host}: {failure.msg}" if failure else ""),
                            utc_now(),
                            time.monotonic(),
                        )
                    )
                if phase != "cleanup":
                    break  # the rest of a failed phase does not run; cleanup does its best
        outcome = PhaseResult(
            phase, tuple(results), started_at, started, time.monotonic() - started
        )
        self.journal.record(
            Event.PHASE_FINISHED,
            phase=phase,
            status="failed" if outcome.failed else "ok",
            duration_s=outcome.duration_s,  # unrounded: result.json rounds this very number
        )
        self.state.phases.append(outcome)
        return outcome
