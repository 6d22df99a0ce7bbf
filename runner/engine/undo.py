"""`rollback: auto`: what deploy actions recorded, turned back into rollback steps."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from runner.actions.base import Undo
from runner.engine.plan import StepPlan
from runner.engine.results import StepResult
from runner.inventory.model import Host
from runner.journal import Journal
from runner.journal_events import Event
from runner.playbook.model import Step


@dataclass
class UndoStack:
    """Undos in the order deploy recorded them; rolled back newest first."""

    entries: list[tuple[Host, Undo, Step]] = field(default_factory=list)

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
