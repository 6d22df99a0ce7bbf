"""Running one step across its hosts: when, loop, retries/until, timeout, register, fan-out."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from runner.actions import ACTIONS, ActionArgError, ActionContext, ActionOutcome
from runner.actions.diffs import preview_diff
from runner.connections.base import CancelToken
from runner.connections.pool import ConnectionPool, HostUnreachable
from runner.connections.step_become import StepBecome
from runner.engine.fanout import batches, too_many_failed
from runner.engine.results import (
    FAILED,
    IGNORED,
    INTERRUPTED,
    OK,
    SKIPPED,
    UNREACHABLE,
    HostResult,
    StepResult,
)
from runner.faults.base import FaultInjector
from runner.inventory.model import Host
from runner.journal import Journal, utc_now
from runner.journal_events import Event
from runner.playbook.model import Step
from runner.templating.render_state import cancelled_by
from runner.templating.templar import Templar, TemplateError

OUTPUT_KEEP = 4096  # characters of stdout/stderr kept per host result in the journal


@dataclass
class StepEnvironment:
    """What every step of a run shares."""

    templar: Templar
    journal: Journal
    pool: ConnectionPool
    cancel: CancelToken
    static_vars: dict[str, dict[str, Any]]  # host name -> resolved variables
    extra_vars: dict[str, Any]
    forks: int = 10
    serial: Any = None
    max_fail_percentage: float = 0.0
    registered: dict[str, dict[str, Any]] = field(default_factory=dict)
    on_host_done: Any = None  # callable(step, HostResult) for live output
    injector: FaultInjector | None = None  # the fault ledger
    on_diff: Any = None  # callable(step, host name, unified diff) with --diff

    def variables(self, host: Host) -> dict[str, Any]:
        static = self.static_vars[host.name]
        extra = {k: static[k] for k in self.extra_vars if k in static}
        return {**static, **self.registered.get(host.name, {}), **extra}


def render_args(step: Step, variables: dict[str, Any], templar: Templar) -> Any:
    """Render a step's arguments, leaving the action's expression keys for run time."""
    action = ACTIONS[step.action]
    args = step.args
    if isinstance(args, dict):
        return {
            k: v if k in action.expression_keys else templar.render(v, variables)
            for k, v in args.items()
        }
    if isinstance(args, str) and action.shorthand_key in action.expression_keys:
        return args
    return templar.render(args, variables)


def registered_value(outcome: ActionOutcome, result: HostResult | None = None) -> dict[str, Any]:
    """The dict a `register:` variable holds, Ansible-shaped."""
    value: dict[str, Any] = {
        "rc": outcome.rc,
        "stdout": outcome.stdout,
        "stderr": outcome.stderr,
        "stdout_lines": outcome.stdout.splitlines(),
        "msg": outcome.msg,
        "failed": not outcome.ok,
        "ok": outcome.ok,
        "timed_out": outcome.timed_out,
    }
    value.update(outcome.data)
    return value


class StepRunner:
    def __init__(self, env: StepEnvironment) -> None:
        self.env = env
        self.executor = ThreadPoolExecutor(max_workers=max(1, env.forks), thread_name_prefix="host")

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def run(self, step: Step, hosts: list[Host]) -> StepResult:
        targets = hosts[:1] if step.run_once else hosts
        started_at, started = utc_now(), time.monotonic()
        self.env.journal.record(
            Event.STEP_STARTED,
            phase=step.phase,
            index=step.index,
            step=step.name,
            action=step.action,
            hosts=[h.name for h in targets],
        )
        results: dict[str, HostResult] = {}
        for batch in batches(targets, self.env.serial):
            results.update(self._run_batch(step, batch))
            failed = sum(1 for r in results.values() if r.failed)
            if too_many_failed(failed, len(targets), self.env.max_fail_percentage):
                break  # as Ansible: later batches do not start once the threshold is crossed
        for host in targets:
            if host.name not in results:
                results[host.name] = HostResult(host.name, SKIPPED, "an earlier batch failed")
        ordered = tuple(results[h.name] for h in targets)
        first = self.env.registered.get(hosts[0].name, {}) if hosts else {}
        if step.run_once and step.register and step.register in first:
            for other in hosts[1:]:
                self.env.registered.setdefault(other.name, {})[step.register] = first[step.register]
        result = StepResult(
            step,
            ordered,
            started_at,
            started,
            time.monotonic() - started,
            self.env.max_fail_percentage,
        )
        self.env.journal.record(
            Event.STEP_FINISHED,
            phase=step.phase,
            index=step.index,
            step=step.name,
            status=result.status,
            duration_s=result.duration_s,
        )
        return result

    def _run_batch(self, step: Step, hosts: list[Host]) -> dict[str, HostResult]:
        if len(hosts) == 1 and hosts[0].connection == "local":
            # One local host needs no fan-out: running it here spares two thread hand-offs
            # per step. Ctrl-C still stops it: the signal handler only queues the signal, the
            # interrupt thread cancels the token, and a local process's wait (select, waitpid)
            # lets the handler run at once. Remote hosts keep the worker, so that no blocking
            # library call can hold the main thread.
            return {hosts[0].name: self._run_host(step, hosts[0])}
        futures = {self.executor.submit(self._run_host, step, h): h.name for h in hosts}
        results: dict[str, HostResult] = {}
        pending = set(futures)
        while pending:
            # A timed wait keeps the main thread free to take Ctrl-C.
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in done:
                results[futures[future]] = future.result()
        return results

    def _run_host(self, step: Step, host: Host) -> HostResult:
        started_at, started = utc_now(), time.monotonic()
        try:
            with cancelled_by(self.env.cancel):  # Ctrl-C stops a template in flight too
                result = self._attempts(step, host, started_at, started)
        except HostUnreachable as exc:
            if step.register:
                # As Ansible registers it: no rc and no output, so a template that reads
                # them fails loudly instead of seeing an empty result.
                self.env.registered.setdefault(host.name, {})[step.register] = {
                    "unreachable": True,
                    "failed": True,
                    "ok": False,
                    "changed": False,
                    "msg": str(exc),
                }
            result = HostResult(
                host.name,
                UNREACHABLE,
                str(exc),
                started_at=started_at,
                started_mono=started,
                duration_s=time.monotonic() - started,
            )
        self.env.journal.record(
            Event.HOST_RESULT,
            phase=step.phase,
            index=step.index,
            step=step.name,
            host=host.name,
            status=result.status,
            rc=result.rc,
            msg=result.msg,
            summary=result.summary,
            attempts=result.attempts,
            started_at=result.started_at,
            duration_s=result.duration_s,
            # Masked before the cut: a secret across it would otherwise leave its tail.
            stdout=self.env.journal.mask.tail(result.stdout, OUTPUT_KEEP),
            stderr=self.env.journal.mask.tail(result.stderr, OUTPUT_KEEP),
        )
        if self.env.on_host_done is not None:
            self.env.on_host_done(step, result)
        return result

    def _attempts(self, step: Step, host: Host, started_at: str, started: float) -> HostResult:
        env = self.env
        variables = env.variables(host)

        def finish(
            status: str, msg: str, outcome: ActionOutcome | None = None, **kw: Any
        ) -> HostResult:
            return HostResult(
                host.name,
                status,
                msg,
                rc=outcome.rc if outcome else None,
                stdout=outcome.stdout if outcome else "",
                stderr=outcome.stderr if outcome else "",
                started_at=started_at,
                started_mono=started,
                duration_s=time.monotonic() - started,
                **kw,
            )

        try:
            for condition in step.when:
                if not env.templar.evaluate(condition, variables):
                    return finish(SKIPPED, f"when: {condition} is false")
            items = self._loop_items(step, variables)
        except TemplateError as exc:
            return finish(INTERRUPTED if env.cancel.cancelled else FAILED, str(exc))
        if items == []:
            # Nothing ran: skipped, as Ansible says it, never "ok" for work not done.
            if step.register:
                env.registered.setdefault(host.name, {})[step.register] = {
                    "results": [],
                    "skipped": True,
                    "msg": "loop has no items",
                }
            return finish(SKIPPED, "loop has no items")
        outcomes: list[tuple[ActionOutcome, int, str]] = []
        for item in [_NO_LOOP] if items is None else items:
            item_vars = variables if item is _NO_LOOP else {**variables, "item": item}
            outcome, attempts, summary = self._until(step, host, item_vars)
            outcomes.append((outcome, attempts, summary))
            if not outcome.ok:
                break
        outcome, attempts, summary = outcomes[-1]
        if step.register in env.templar.secret_results:
            # Before the result is printed or journaled: a later `| secret` is too late.
            for each, _, _ in outcomes:
                for text in (each.stdout, each.stderr, each.stdout.strip(), each.stderr.strip()):
                    env.templar.secrets.add(text)
        if step.register:
            value = registered_value(outcome)
            if items is not None:
                value = {**value, "results": [registered_value(o) for o, _, _ in outcomes]}
            env.registered.setdefault(host.name, {})[step.register] = value
        if outcome.cancelled or (not outcome.ok and env.cancel.cancelled):
            status = INTERRUPTED
            outcome = replace(outcome, msg=env.cancel.reason or outcome.msg)
        elif outcome.ok:
            status = OK
        else:
            status = IGNORED if step.ignore_errors else FAILED
        return finish(
            status,
            outcome.msg,
            outcome,
            attempts=attempts,
            summary=summary,
            data=dict(outcome.data),
            # What changed must be undoable even when the step then failed.
            undos=tuple(o.undo for o, _, _ in outcomes if o.undo is not None),
        )

    def _loop_items(self, step: Step, variables: dict[str, Any]) -> list[Any] | None:
        """The loop's rendered items, or None for a step without `loop`."""
        if step.loop is None:
            return None
        items = step.loop
        if isinstance(items, str):
            items = self.env.templar.evaluate(items, variables)
        if not isinstance(items, (list, tuple)):
            raise TemplateError(f"loop must give a list, got {type(items).__name__}")
        return [self.env.templar.render(i, variables) for i in items]

    def _until(
        self, step: Step, host: Host, variables: dict[str, Any]
    ) -> tuple[ActionOutcome, int, str]:
        attempts = 1 + step.retries
        outcome = ActionOutcome(False, "not run")
        summary = ""
        for attempt in range(1, attempts + 1):
            outcome, summary = self._once(step, host, variables)
            done = outcome.ok
            if step.until is not None and not outcome.cancelled:
                name = step.register or "result"
                try:
                    done = bool(
                        self.env.templar.evaluate(
                            step.until, {**variables, name: registered_value(outcome)}
                        )
                    )
                except TemplateError as exc:
                    return ActionOutcome(False, f"until: {exc}"), attempt, summary
                if not done and outcome.ok:
                    outcome = ActionOutcome(
                        False,
                        f"until not met: {step.until}",
                        outcome.rc,
                        outcome.stdout,
                        outcome.stderr,
                        outcome.data,
                    )
            if done or outcome.cancelled or self.env.cancel.cancelled or attempt == attempts:
                return outcome, attempt, summary
            if self.env.cancel.wait(step.delay_s):
                return ActionOutcome(False, "interrupted", cancelled=True), attempt, summary
        return outcome, attempts, summary

    def _recorder(self, step: Step) -> Callable[..., None]:
        """What an action journals about its own work, tagged with the step it belongs to."""

        def record(kind: Event, **fields: Any) -> None:
            self.env.journal.record(
                kind, **{**fields, "phase": step.phase, "index": step.index, "step": step.name}
            )

        return record

    def _once(self, step: Step, host: Host, variables: dict[str, Any]) -> tuple[ActionOutcome, str]:
        action = ACTIONS[step.action]
        try:
            args = render_args(step, variables, self.env.templar)
            planned = action.plan(args, host)
        except (TemplateError, ActionArgError) as exc:
            return ActionOutcome(False, str(exc)), ""
        connection = None if action.controller_side else self.env.pool.get(host)
        if connection is not None and (step.become is not None or step.become_user):
            connection = StepBecome(connection, step.become, step.become_user)
        ctx = ActionContext(
            host,
            connection,
            self.env.templar,
            variables,
            self.env.cancel,
            step.timeout_s,
            self.env.injector,
            self._recorder(step),
        )
        diff = None
        if self.env.on_diff is not None and connection is not None:
            diff = preview_diff(
                planned, connection, self.env.templar, variables, self.env.cancel, step.timeout_s
            )
        outcome = action.execute(planned, ctx)
        if diff and outcome.data.get("changed"):
            self.env.on_diff(step, host.name, diff)
        return outcome, planned.summary


_NO_LOOP = object()
