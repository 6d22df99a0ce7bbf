"""What a step does: each action plans (pure) and then executes against a connection."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from runner.connections.base import CancelToken, CommandSpec, Connection
from runner.faults.base import FaultInjector
from runner.inventory.model import Host
from runner.templating.templar import Templar

ENV_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Environment variables for the command.",
    "additionalProperties": {"type": ["string", "number", "boolean"]},
}


class ActionArgError(ValueError):
    """The rendered arguments of a step make no sense for its action."""


@dataclass(frozen=True)
class PlannedAction:
    """Everything an action will do on one host, resolved, before it does it."""

    action: str
    summary: str
    spec: CommandSpec | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Undo:
    """How to undo what a deploy action did: another action with its arguments.

    An action that replaces something (a release, a config file, a flag value, an image)
    returns one in `ActionOutcome.undo`; `rollback: auto` runs them in reverse order.
    """

    action: str
    args: Mapping[str, Any]
    summary: str = ""


@dataclass(frozen=True)
class ActionOutcome:
    ok: bool
    msg: str = ""
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    timed_out: bool = False
    cancelled: bool = False
    undo: Undo | None = None


@dataclass(frozen=True)
class ActionContext:
    host: Host
    connection: Connection | None  # None for controller-side actions
    templar: Templar
    variables: Mapping[str, Any]
    cancel: CancelToken
    timeout: float | None
    injector: FaultInjector | None = None  # the fault ledger, for `fault` steps
    # Journals an event about this step and host (the step's phase, index and name added).
    record: Callable[..., None] | None = None


class Action(ABC):
    """One step kind. Subclasses declare their argument schema for the playbook schema."""

    name: ClassVar[str]
    description: ClassVar[str]
    schema: ClassVar[dict[str, Any]]
    # Argument keys holding Jinja expressions (evaluated at run time, not rendered up front).
    expression_keys: ClassVar[frozenset[str]] = frozenset()
    # The argument key a plain string stands for (`shell: "…"` means `shell: {cmd: "…"}`).
    shorthand_key: ClassVar[str | None] = None
    # Actions that run on the controller need no connection to the target.
    controller_side: ClassVar[bool] = False
    # Actions that record an Undo when they change something (usable with rollback: auto).
    reversible: ClassVar[bool] = False
    # Actions that keep snapshots or backups in the run's state directory on the target
    # (runner.actions.state); the engine removes that directory when the run is over.
    keeps_state: ClassVar[bool] = False

    @abstractmethod
    def plan(self, args: Any, host: Host) -> PlannedAction:
        """Resolve rendered arguments into a plan; raise ActionArgError for nonsense."""

    @abstractmethod
    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        """Carry out the plan on the host."""

    @staticmethod
    def connection(ctx: ActionContext) -> Connection:
        if ctx.connection is None:
            raise RuntimeError("a target-side action ran without a connection")
        return ctx.connection


def outcome_from_command(result: Any, *, ok: bool | None = None, msg: str = "") -> ActionOutcome:
    """ActionOutcome for a finished CommandResult."""
    if result.timed_out:
        msg = msg or f"timed out after {result.duration_s:.1f}s; process group killed"
    elif result.cancelled:
        msg = msg or "interrupted"  # the step runner adds why (operator, or a trigger)
    elif result.rc != 0:
        msg = msg or f"exit code {result.rc}"
    return ActionOutcome(
        ok=(result.rc == 0 and not result.timed_out and not result.cancelled) if ok is None else ok,
        msg=msg,
        rc=result.rc,
        stdout=result.stdout,
        stderr=result.stderr,
        timed_out=result.timed_out,
        cancelled=result.cancelled,
    )
