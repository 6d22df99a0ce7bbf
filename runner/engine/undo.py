"""`rollback: auto`: what deploy actions recorded, turned back into rollback steps.

Also the end of what they kept: snapshots and backups live in a per-run state directory on
each target (runner.actions.state), removed once the run no longer needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from runner.actions import ACTIONS
from runner.actions.base import Undo
from runner.actions.state import host_state_dir, release_script
from runner.connections.base import CancelToken, CommandSpec
from runner.connections.pool import ConnectionPool, HostUnreachable
from runner.engine.plan import StepPlan
from runner.engine.results import SKIPPED, PhaseResult, StepResult
from runner.inventory.model import Host
from runner.journal import Journal
from runner.journal_events import Event
from runner.playbook.model import Step

RELEASE_TIMEOUT_S = 30.0


@dataclass
class UndoStack:
    """Undos in the order deploy recorded them; rolled back newest first."""

    entries: list[tuple[Host, Undo, Step]] = field(default_factory=list)
    # Hosts where a step ran an action that keeps state (snapshots, backups) on the target.
    stateful: set[str] = field(default_factory=set)

    def record(self, result: StepResult, hosts: dict[str, Host], journal: Journal) -> None:
        for host_result in result.hosts:
            for undo in host_result.undos:
                self.entries.append((hosts[host_result.host], undo, result.step))
                journal.record(
                    Event.UNDO_RECORDED,
                    step=result.step.name,
                    host=host_result.host,
                    action=undo.action,
                    args=dict(undo.args),
                    summary=undo.summary,
                )

    def note_state(self, result: StepResult) -> None:
        """Remember the hosts on which this step may have kept state, whatever its outcome."""
        if ACTIONS[result.step.action].keeps_state:
            self.stateful.update(h.host for h in result.hosts if h.status != SKIPPED)

    def rollback_plans(self) -> tuple[StepPlan, ...]:
        plans = []
        for i, (host, undo, origin) in enumerate(reversed(self.entries)):
            step = replace(
                origin,
                phase="rollback",
                index=i,
                name=f"undo: {undo.summary or origin.name}",
                action=undo.action,
                args=dict(undo.args),
                when=(),
                loop=None,
                register=None,
                retries=0,
                until=None,
                run_once=False,
            )
            plans.append(StepPlan(step, (host,), ()))
        return tuple(plans)


def keep_reason(
    stack: UndoStack, host: str, *, rollback_wanted: bool, rollback: PhaseResult | None
) -> str:
    """Why a host's state must outlive the run ("" when it can go).

    A snapshot may be the only copy of what a change replaced: it stays until the rollback
    has succeeded, unless the change stands (no rollback was wanted).
    """
    if not any(h.name == host for h, _, _ in stack.entries):
        return ""  # nothing recorded an undo here: no rollback can need this state
    if rollback is None:
        return "the rollback did not run" if rollback_wanted else ""
    if not rollback.ran:
        return f"the rollback did not run ({rollback.skipped_reason})"
    if rollback.failed:
        return "the rollback failed"
    return ""


def release_run_state(
    stack: UndoStack,
    hosts: Mapping[str, Host],
    host_vars: Mapping[str, Mapping[str, Any]],
    pool: ConnectionPool,
    journal: Journal,
    reason_for: Callable[[str], str],
    notice: Callable[[str], None],
) -> None:
    """Remove each host's state directory for this run, or say why and where it stays."""
    for name in sorted(stack.stateful):
        try:
            path = host_state_dir(host_vars.get(name, {}))
        except ValueError:
            continue  # the actions refused to run with it: nothing was kept
        why = reason_for(name)
        if why:
            journal.record(Event.RUN_STATE_KEPT, host=name, path=path, reason=why)
            notice(f"{name}: kept {path} (snapshots and backups): {why}")
            continue
        try:
            conn = pool.get(hosts[name])
            result = conn.run(
                CommandSpec(shell=release_script(path)),
                timeout=RELEASE_TIMEOUT_S,
                cancel=CancelToken(),  # the run's token may be cancelled; this must still run
            )
            problem = "" if result.rc == 0 else (result.stderr.strip() or f"exit {result.rc}")
        except HostUnreachable as exc:
            problem = f"unreachable: {exc}"
        except Exception as exc:  # this runs in the run's `finally`: report, never mask
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            journal.record(Event.RUN_STATE_KEPT, host=name, path=path, reason=problem)
            notice(f"{name}: could not remove {path}: {problem}")
        else:
            journal.record(Event.RUN_STATE_REMOVED, host=name, path=path)
