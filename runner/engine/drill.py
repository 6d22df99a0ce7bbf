"""A drill run: phases in order, the rollback decision, interrupts, and the outcome.

prepare → deploy → inject → [rollback] → verify → cleanup. A failure in deploy,
inject or verify starts the rollback (with `rollback_when: always`, the default, the
rollback is rehearsed every run); cleanup always runs. SIGINT/SIGTERM follow the matrix
in runner/engine/interrupts.py: this module tells it which phase runs and skips what the
matrix skips. Each phase's steps run in runner/engine/phases.py; the verdict on the run is
runner/engine/verdict.py's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from runner.connections.pool import ConnectionPool
from runner.engine.checkpoints import Checkpoints
from runner.engine.interrupts import Interrupts
from runner.engine.monitor import DrillMonitor
from runner.engine.outcome import (
    DETECTING_TRIGGERS,
    MEASURED_EVENT,
    DrillOutcome,
    Trigger,
    host_failure,
    measured_record,
    rollback_proven,
    steps_ran,
)
from runner.engine.phases import DrillState, PhaseRunner
from runner.engine.plan import DrillPlan
from runner.engine.steps import StepEnvironment, StepRunner
from runner.engine.undo import keep_reason, release_run_state
from runner.engine.verdict import drill_timeline, drill_verdict
from runner.faults.ledger import FaultLedger
from runner.journal import Journal, utc_now
from runner.journal_events import Event
from runner.measure.figures import DrillFigures, measure_drill
from runner.measure.specs import healthy_after_of
from runner.measure.timeline import Timeline
from runner.measure.triggers import Fired
from runner.playbook.model import Playbook
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
        self.state = DrillState()
        self.phases = PhaseRunner(
            plan, journal, hooks, interrupts, self.monitor, self.hosts, self.state
        )
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
            self.phases.run(runner, "cleanup")
            self.ledger.revert_all("end of run")
            self._release_state()
            runner.close()
        return self._outcome(started_at, started)

    def _main(self, runner: StepRunner) -> None:
        prepare = self.phases.run(runner, "prepare")
        if prepare.failed or self.interrupts.interrupted():
            # A step stopped by a signal "fails" too; the interrupt is the reason then.
            interrupted = self.interrupts.interrupted()
            self.state.prepare_failed = prepare.failed and not interrupted
            for phase in ("deploy", "inject", "rollback", "verify"):
                self.phases.skip(phase, "interrupted" if interrupted else "prepare failed")
            return
        for phase in ("deploy", "inject"):
            if self.state.trigger or self.interrupts.interrupted():
                self.phases.skip(
                    phase, "interrupted" if self.interrupts.interrupted() else "rollback started"
                )
                continue
            self.phases.run(runner, phase)
        if self.state.trigger is None and not self.interrupts.interrupted():
            # Faults with a duration run their course; the others end with the inject phase.
            self.ledger.wait_for_durations(self.interrupts.token)
        # Faults first, then rollback, then cleanup: on Ctrl-C too.
        interrupted = self.interrupts.interrupted()
        self.ledger.revert_all("interrupted" if interrupted else "inject phase over")
        if self.interrupts.interrupted():
            if self.state.change_began():
                self._rollback(runner)
            else:
                self.phases.skip("rollback", "interrupted before the change began")
            self.phases.skip("verify", "interrupted")
            return
        if self.state.trigger is None and self.playbook.rollback_when == "failure":
            verify = self.phases.run(runner, "verify")
            if not verify.failed and not self.interrupts.interrupted():
                self.phases.skip("rollback", "nothing failed (rollback_when: failure)")
                self.state.final_verify = verify
                return
        self._rollback(runner)
        if self.interrupts.interrupted():
            self.phases.skip("verify", "interrupted")
            return
        self.state.final_verify = self.phases.run(runner, "verify")
        self._checkpoint("after")

    def _rollback(self, runner: StepRunner) -> None:
        if self.playbook.rollback_type == 5:
            self.phases.skip("rollback", "rollback_type 5: point of no return, fix forward only")
            return
        if self.interrupts.rollback_abandoned():
            self.ledger.revert_all("interrupted twice")
            self.phases.skip("rollback", "interrupted twice: rollback skipped")
            return
        if self.state.trigger is None:
            why = "interrupted" if self.interrupts.interrupted() else "rollback_when: always"
            kind = "interrupt" if self.interrupts.interrupted() else "rehearsal"
            self.phases.fire(Trigger(kind, detail=why))
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
            self.phases.skip("rollback", "no decision in time (decision on_timeout: abort)")
            return
        if self.interrupts.rollback_abandoned():  # the second signal came while deciding
            self.phases.skip("rollback", "interrupted twice: rollback skipped")
            return
        self._checkpoint("during")
        auto = self.state.undos.rollback_plans() if self.playbook.rollback_auto else None
        self.state.rollback = self.phases.run(runner, "rollback", auto)
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
        self.phases.fire(trigger)
        self.interrupts.abort_change(fired.detail)

    def _probe_broken(self, why: str) -> None:
        """From a probe thread: a worker died. A change that is no longer watched must not
        go on: stop it and roll back (the run ends as an error whatever follows)."""
        if self.state.trigger is not None or self.interrupts.interrupted():
            return
        if self.state.current_phase not in ("deploy", "inject"):
            return
        phase = self.state.current_phase
        self.phases.fire(
            Trigger("probe_failed", phase, detail=why, at=utc_now(), mono=time.monotonic())
        )
        self.interrupts.abort_change(why)

    def _outcome(self, started_at: str, started: float) -> DrillOutcome:
        s = self.state
        rollback_ok = None
        if s.rollback is not None:
            rollback_ok = rollback_proven(
                completed=not s.rollback.failed,
                failed_on_a_host=host_failure(s.rollback) is not None,
                did_something=steps_ran(s.rollback) or bool(self.ledger.records),
                left_a_fault=self.ledger.any_revert_failed,
            )
        figures = self._figures() if self.monitor.probes.instances else None
        status, reason = drill_verdict(
            s, self.playbook, self.ledger, self.interrupts, figures, self.monitor.probe_failure()
        )
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

    def _figures(self) -> DrillFigures:
        self._times = times = drill_timeline(self.state, self.playbook, self.ledger, self.monitor)
        return measure_drill(self.monitor.probes.log, times, self._healthy_after())

    def _healthy_after(self) -> dict[str, int]:
        return healthy_after_of(self.playbook.probes)
