"""A drill run: phases in order, the rollback decision, interrupts, and the outcome.

prepare → deploy → inject → [rollback] → verify → cleanup. A failure in deploy,
inject or verify starts the rollback (with `rollback_when: always`, the default, the
rollback is rehearsed every run); cleanup always runs. SIGINT/SIGTERM follow the matrix
in runner/engine/interrupts.py: this module tells it which phase runs and skips what the
matrix skips.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from runner.connections.pool import ConnectionPool
from runner.engine.checkpoints import Checkpoints
from runner.engine.interrupts import Interrupts
from runner.engine.monitor import DecisionRecord, DrillMonitor
from runner.engine.outcome import (
    DETECTING_TRIGGERS,
    ERROR,
    FAILED,
    INTERRUPTED,
    MEASURED_EVENT,
    NO_CHANGE_REASON,
    PASSED,
    DrillOutcome,
    Trigger,
    change_ran,
    failure_reason,
    measured_record,
    objectives_verdict,
    only_unreachable,
    unsupported_reason,
)
from runner.engine.plan import DrillPlan, StepPlan
from runner.engine.results import PhaseResult, StepResult
from runner.engine.steps import StepEnvironment, StepRunner
from runner.engine.undo import UndoStack, keep_reason, release_run_state
from runner.faults.blast import select_targets
from runner.faults.ledger import FaultLedger
from runner.journal import Journal, utc_now
from runner.journal_events import Event
from runner.measure.figures import DrillFigures, measure_drill
from runner.measure.specs import healthy_after_of
from runner.measure.timeline import Timeline
from runner.measure.triggers import Fired
from runner.playbook.model import ROLLBACK_STARTERS, Playbook
from runner.templating.templar import Templar


@dataclass
class DrillHooks:
    """Where the run reports progress (the terminal view)."""

    phase_started: Callable[[str], None] = lambda phase: None
    phase_skipped: Callable[[str, str], None] = lambda phase, why: None
    step_started: Callable[[Any, list[Any]], None] = lambda step, hosts: None
    host_done: Callable[[Any, Any], None] = lambda step, result: None
    step_finished: Callable[[str, Any, Any], None] = lambda phase, step, result: None
    notice: Callable[[str], None] = lambda text: None
    # `--diff`: what a file-changing step changed on a host; None when not asked for.
    diff: Callable[[Any, str, str], None] | None = None


@dataclass
class _State:
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


class DrillRun:
    def __init__(
        self,
        plan: DrillPlan,
        templar: Templar,
        journal: Journal,
        pool: ConnectionPool,
        interrupts: Interrupts,
        hooks: DrillHooks,
        extra_vars: dict[str, Any],
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.plan = plan
        self.playbook: Playbook = plan.playbook
        self.journal = journal
        self.interrupts = interrupts
        self.hooks = hooks
        self.env = StepEnvironment(
            templar=templar,
            journal=journal,
            pool=pool,
            cancel=interrupts.token,
            static_vars=plan.host_vars,
            extra_vars=extra_vars,
            forks=self.playbook.forks,
            serial=self.playbook.serial,
            max_fail_percentage=self.playbook.max_fail_percentage,
            on_host_done=hooks.host_done,
            on_diff=hooks.diff,
        )
        self.hosts = {h.name: h for h in plan.all_hosts()}
        self.ledger = FaultLedger(journal, pool, self.hosts, hooks.notice)
        self.env.injector = self.ledger
        self.monitor = DrillMonitor(
            plan,
            templar,
            journal,
            pool,
            interrupts,
            self._probe_fired,
            hooks.notice,
            on_broken=self._probe_broken,
        )
        self.state = _State()
        self.checkpoints = checkpoints
        self._times: Timeline | None = None  # the drill's times, once measured

    def _checkpoint(self, list_name: str) -> None:
        if self.checkpoints is not None and not self.interrupts.interrupted():
            self.checkpoints.reached(list_name, self.interrupts.interrupted)

    def run(self) -> DrillOutcome:
        started_at, started = utc_now(), time.monotonic()
        runner = StepRunner(self.env)
        self.monitor.start()
        try:
            self._checkpoint("before")
            self._main(runner)
        finally:
            self.monitor.stop()
            self.interrupts.enter("cleanup")
            # No fault outlives the drill; after a second signal too, faults go first.
            self.ledger.revert_all("interrupted" if self.interrupts.interrupted() else "cleanup")
            self._phase(runner, "cleanup")
            self.ledger.revert_all("end of run")
            self._release_state()
            runner.close()
        return self._outcome(started_at, started)

    def _main(self, runner: StepRunner) -> None:
        prepare = self._phase(runner, "prepare")
        if prepare.failed or self.interrupts.interrupted():
            # A step stopped by a signal "fails" too; the interrupt is the reason then.
            interrupted = self.interrupts.interrupted()
            self.state.prepare_failed = prepare.failed and not interrupted
            for phase in ("deploy", "inject", "rollback", "verify"):
                self._skip(phase, "interrupted" if interrupted else "prepare failed")
            return
        for phase in ("deploy", "inject"):
            if self.state.trigger or self.interrupts.interrupted():
                self._skip(
                    phase, "interrupted" if self.interrupts.interrupted() else "rollback started"
                )
                continue
            self._phase(runner, phase)
        if self.state.trigger is None and not self.interrupts.interrupted():
            # Faults with a duration run their course; the others end with the inject phase.
            self.ledger.wait_for_durations(self.interrupts.token)
        # Faults first, then rollback, then cleanup: on Ctrl-C too.
        interrupted = self.interrupts.interrupted()
        self.ledger.revert_all("interrupted" if interrupted else "inject phase over")
        if self.interrupts.interrupted():
            if self._change_began():
                self._rollback(runner)
            else:
                self._skip("rollback", "interrupted before the change began")
            self._skip("verify", "interrupted")
            return
        if self.state.trigger is None and self.playbook.rollback_when == "failure":
            verify = self._phase(runner, "verify")
            if not verify.failed and not self.interrupts.interrupted():
                self._skip("rollback", "nothing failed (rollback_when: failure)")
                self.state.final_verify = verify
                return
        self._rollback(runner)
        if self.interrupts.interrupted():
            self._skip("verify", "interrupted")
            return
        self.state.final_verify = self._phase(runner, "verify")
        self._checkpoint("after")

    def _rollback(self, runner: StepRunner) -> None:
        if self.playbook.rollback_type == 5:
            self._skip("rollback", "rollback_type 5: point of no return, fix forward only")
            return
        if self.interrupts.rollback_abandoned():
            self.ledger.revert_all("interrupted twice")
            self._skip("rollback", "interrupted twice: rollback skipped")
            return
        if self.state.trigger is None:
            why = "interrupted" if self.interrupts.interrupted() else "rollback_when: always"
            kind = "interrupt" if self.interrupts.interrupted() else "rehearsal"
            self._fire(Trigger(kind, detail=why))
        self.ledger.revert_all("rollback starts")
        self.monitor.change_over()
        trigger = self.state.trigger
        detected = trigger.mono if trigger and trigger.kind in DETECTING_TRIGGERS else None
        decision = self.monitor.decide(detected)
        if self.interrupts.interrupted() and decision.timed_out:
            # A signal ended the wait for approval: by the matrix, the change is rolled back.
            by = f"interrupt ({self.interrupts.signal_name})"
            decision = replace(decision, timed_out=False, proceed=True, approved_by=by)
        self.state.decision = decision
        self.state.decided_mono = decision.decided_mono
        self.journal.record(
            Event.DECISION,
            decision="rollback" if decision.proceed else "no rollback",
            mode=decision.mode,
            approved_by=decision.approved_by,
            approved_at=decision.approved_at,
            approved_via=decision.approved_via,
            timed_out=decision.timed_out,
            approvals=[a.as_json() for a in decision.approvals],
        )
        if not decision.proceed:
            self._skip("rollback", "no decision in time (decision on_timeout: abort)")
            return
        if self.interrupts.rollback_abandoned():  # the second signal came while deciding
            self._skip("rollback", "interrupted twice: rollback skipped")
            return
        self._checkpoint("during")
        auto = self.state.undos.rollback_plans() if self.playbook.rollback_auto else None
        self.state.rollback = self._phase(runner, "rollback", auto)
        if self.interrupts.rollback_abandoned():
            self.ledger.revert_all("interrupted twice")  # before anything else runs

    def _release_state(self) -> None:
        """Remove the snapshots and backups actions kept on the targets, unless still needed."""
        s = self.state
        wanted = s.trigger is not None and self.playbook.rollback_type != 5

        def reason(host: str) -> str:
            return keep_reason(s.undos, host, rollback_wanted=wanted, rollback=s.rollback)

        release_run_state(
            s.undos,
            self.hosts,
            self.plan.host_vars,
            self.env.pool,
            self.journal,
            reason,
            self.hooks.notice,
        )

    def _probe_fired(self, fired: Fired) -> None:
        """From a probe thread: a trigger came true; stop the change and roll back."""
        if self.state.trigger is not None or self.interrupts.interrupted():
            return
        probe, _, host = fired.probe.partition("@")
        trigger = Trigger(
            "alert" if fired.rule.kind == "alert" else "probe",
            self.state.current_phase,
            host=host,
            detail=fired.detail,
            at=utc_now(),
            mono=fired.t,
            probe=probe,
        )
        self._fire(trigger)
        self.interrupts.abort_change(fired.detail)

    def _probe_broken(self, why: str) -> None:
        """From a probe thread: a worker died. A change that is no longer watched must not
        go on: stop it and roll back (the run ends as an error whatever follows)."""
        if self.state.trigger is not None or self.interrupts.interrupted():
            return
        if self.state.current_phase not in ("deploy", "inject"):
            return
        phase = self.state.current_phase
        self._fire(Trigger("probe_failed", phase, detail=why, at=utc_now(), mono=time.monotonic()))
        self.interrupts.abort_change(why)

    def _fire(self, trigger: Trigger) -> None:
        self.state.trigger = trigger
        self.journal.record(Event.TRIGGER_FIRED, **trigger.__dict__)
        self.hooks.notice(f"rollback triggered: {trigger.detail or trigger.kind}")

    def _skip(self, phase: str, why: str) -> None:
        at = utc_now()
        self.journal.record(Event.PHASE_SKIPPED, phase=phase, reason=why, started_at=at)
        self.hooks.phase_skipped(phase, why)
        self.state.phases.append(PhaseResult(phase, (), at, time.monotonic(), 0.0, why))

    def _phase(
        self, runner: StepRunner, phase: str, plans: tuple[StepPlan, ...] | None = None
    ) -> PhaseResult:
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
                    self._fire(
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

    def _outcome(self, started_at: str, started: float) -> DrillOutcome:
        s = self.state
        rollback_ok = None if s.rollback is None else not s.rollback.failed
        status, reason = self._verdict(rollback_ok)
        figures = self._figures() if self.monitor.probes.instances else None
        if status == PASSED:
            status, reason = objectives_verdict(self.playbook, figures, reason)
        unsupported = unsupported_reason(self.state.phases)
        broken = self.monitor.probe_failure()
        if broken and status != INTERRUPTED:
            # A dead probe worker leaves figures that stopped telling the truth: exit 3.
            status, reason = ERROR, f"measurement broken: {broken}"
        elif unsupported and status != INTERRUPTED:
            # The drill could not be carried out as designed, whatever followed: exit 3.
            status, reason = ERROR, unsupported
        elif status == FAILED and only_unreachable(self.state.phases):
            status = ERROR  # the targets could not be reached: exit 3
        outcome = DrillOutcome(
            status=status,
            reason=reason,
            phases=tuple(s.phases),
            started_at=started_at,
            ended_at=utc_now(),
            started_mono=started,
            ended_mono=time.monotonic(),
            rolled_back=s.rollback is not None,
            rollback_succeeded=rollback_ok,
            trigger=s.trigger,
            decided_mono=s.decided_mono,
            interrupted_by=self.interrupts.signal_name,
            faults=tuple(self.ledger.records),
            figures=figures,
            confirmations=dict(self.checkpoints.confirmed) if self.checkpoints else {},
            approvals=self.monitor.approvals(s.decision),
        )
        record = measured_record(outcome, self.playbook, self._times, self._healthy_after())
        self.journal.record(MEASURED_EVENT, **record)
        return outcome

    def _verdict(self, rollback_ok: bool | None) -> tuple[str, str]:
        s = self.state
        if self.interrupts.interrupted():
            suffix = "; a fault was NOT reverted" if self.ledger.any_revert_failed else ""
            return INTERRUPTED, f"interrupted by {self.interrupts.signal_name}{suffix}"
        if s.prepare_failed:
            return FAILED, failure_reason(
                "baseline (prepare) failed", self._phase_result("prepare")
            )
        if self.ledger.any_revert_failed:
            stuck = [r.plan.summary for r in self.ledger.records if r.revert_failed]
            return FAILED, f"fault not reverted: {'; '.join(stuck)} (see the manual commands)"
        if s.decision is not None and not s.decision.proceed:
            return FAILED, "no rollback decision in time (decision on_timeout: abort)"
        if rollback_ok is False:
            return FAILED, failure_reason("rollback failed", s.rollback)
        if s.final_verify is not None and s.final_verify.failed:
            return FAILED, failure_reason("verify failed", s.final_verify)
        budget = self.playbook.budget_s
        if s.rollback is not None and budget is not None and s.rollback.duration_s > budget:
            return (
                FAILED,
                f"rollback took {s.rollback.duration_s:.1f}s, over the type "
                f"{self.playbook.rollback_type} budget of {budget:g}s",
            )
        if not change_ran(s.phases):
            return FAILED, NO_CHANGE_REASON
        if s.rollback is not None:
            return PASSED, f"rolled back in {s.rollback.duration_s:.2f}s and verified"
        return PASSED, "verified; no rollback was needed"

    def _figures(self) -> DrillFigures:
        s = self.state
        injected = [r.injected_mono for r in self.ledger.records if r.injected_mono is not None]
        trigger = s.trigger if s.trigger and s.trigger.kind in DETECTING_TRIGGERS else None
        self._times = times = Timeline(  # the drill's times; each probe adds its samples
            deploy_started=self.monitor.deploy_started,
            first_fault_injected=min(injected, default=None),
            detected=trigger.mono if trigger else None,
            decided=s.decided_mono if trigger else None,
            rollback_started=s.rollback.started_mono if s.rollback else None,
            rollback_ended=s.rollback.started_mono + s.rollback.duration_s if s.rollback else None,
            verify_ended=self.monitor.verify_ended,
            window_from=self._window_from(),
        )
        return measure_drill(self.monitor.probes.log, times, self._healthy_after())

    def _healthy_after(self) -> dict[str, int]:
        return healthy_after_of(self.playbook.probes)

    def _change_began(self) -> bool:
        return any(p.ran for p in self.state.phases if p.phase in ("deploy", "inject"))

    def _window_from(self) -> float | None:
        """`measure_from: prepare` judges from the start of prepare (else: from deploy)."""
        prepare = self._phase_result("prepare")
        if self.playbook.measure_from == "prepare" and prepare is not None:
            return prepare.started_mono
        return None

    def _phase_result(self, name: str) -> PhaseResult | None:
        return next((p for p in self.state.phases if p.phase == name and p.ran), None)
