"""Container faults: kill, stop, pause, restart or remove a container, and bring it back.

Each is planned as Docker API operations (runner.faults.docker_ops) against the container
named by `name`, else the host's own container. A precheck makes sure the container is
there (and running) before anything changes, so a typo is an environment error, not a
fault that never happened.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from typing import Any, ClassVar

from runner.connections.docker_targets import DEFAULT_ENGINE, ContainerTarget, container_target
from runner.durations import DURATION_PATTERN, parse_duration
from runner.faults.base import (
    DEFAULT_SETTLE_S,
    DOCKER,
    Fault,
    FaultArgError,
    FaultContext,
    FaultOp,
    FaultPlan,
)
from runner.inventory.model import Host

_NAME = {
    "type": "string",
    "description": "Container name or id. Default: the host's container (host var `container`, "
    "else `container_label`, else its address, else its name).",
    "examples": ["order-gateway"],
}
_STOP_TIMEOUT = {
    "type": ["string", "number"],
    "pattern": DURATION_PATTERN,
    "default": "10s",
    "description": "Grace between SIGTERM and SIGKILL, rounded to whole seconds.",
    "examples": ["10s", 2],
}
_SIGNAL = re.compile(r"^(SIG)?[A-Z][A-Z0-9]*([+-]\d+)?$")


class ContainerFault(Fault):
    """Shared planning: the target, its precheck, and the op each kind injects and reverts."""

    inject_op: ClassVar[str]
    revert_op: ClassVar[str]
    check_state: ClassVar[str | None]  # the container's state while the fault is in effect
    needs: ClassVar[str] = "running"  # what the precheck wants before injecting
    extra_schema: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.schema = {
            "type": "object",
            "description": cls.description,
            "additionalProperties": False,
            "properties": {"name": _NAME, **cls.extra_schema},
            "examples": [{"name": "order-gateway"}, {}],
        }

    def fields(self, args: Mapping[str, Any], ctx: FaultContext) -> dict[str, Any]:
        """Op fields of this kind beside the target (a signal, a timeout, a snapshot)."""
        return {}

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        unknown = set(args) - set(self.schema["properties"]) - {"duration"}
        if unknown:
            raise FaultArgError(f"{self.kind} does not take {', '.join(sorted(unknown))}")
        name = args.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise FaultArgError(f"{self.kind}: name must be a container name or id")
        target = container_target(host, name)
        fields = self.fields(args, ctx)

        def op(kind: str, **extra: Any) -> FaultOp:
            where = {"engine": target.engine_url, "container": target.ref, "label": target.label}
            return FaultOp(DOCKER, docker={"op": kind, **where, **extra})

        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=f"{self.kind.split('.')[1]} {target.describe()}{self.detail(fields)}",
            inject=(op(self.inject_op, **fields),),
            revert=(op(self.revert_op, **fields),),
            check=op("check_state", want=self.check_state) if self.check_state else None,
            manual=self.manual(target, fields),
            precheck=op("check_state", want=self.needs),
            precheck_error=f"{target.describe()} must be {self.needs} for {self.kind}",
            # A stop or restart goes on in the engine after the client is gone: SIGTERM, then
            # SIGKILL once the grace `timeout` has passed.
            settle_s=float(fields.get("timeout", 0)) + DEFAULT_SETTLE_S,
        )

    def detail(self, fields: Mapping[str, Any]) -> str:
        return ""

    def manual(self, target: ContainerTarget, fields: Mapping[str, Any]) -> str:
        return _docker_cli(target, self.revert_op)


class ContainerKill(ContainerFault):
    kind = "container.kill"
    description = "Send a signal (default SIGKILL) to a container; revert starts it again."
    inject_op, revert_op, check_state = "kill", "start", "stopped"
    extra_schema = {
        "signal": {
            "type": ["string", "integer"],
            "default": "SIGKILL",
            "description": "Signal name or number. A signal the container survives (SIGHUP) "
            "leaves it running: the check then reports the fault as not in effect.",
            "examples": ["SIGKILL", "SIGTERM", 9],
        }
    }

    def fields(self, args: Mapping[str, Any], ctx: FaultContext) -> dict[str, Any]:
        sig = args.get("signal", "SIGKILL")
        if isinstance(sig, bool) or not isinstance(sig, (int, str)):
            raise FaultArgError(f"container.kill: signal must be a name or number, got {sig!r}")
        if isinstance(sig, int) or sig.isdigit():
            if not 1 <= int(sig) <= 64:
                raise FaultArgError(f"container.kill: no signal number {sig}")
            return {"signal": int(sig)}
        text = sig.strip().upper()
        if not _SIGNAL.match(text):
            raise FaultArgError(f"container.kill: {sig!r} is not a signal name like SIGTERM")
        return {"signal": text if text.startswith("SIG") else f"SIG{text}"}

    def detail(self, fields: Mapping[str, Any]) -> str:
        return f" with {fields['signal']}"


class ContainerStop(ContainerFault):
    kind = "container.stop"
    description = "Stop a container (SIGTERM, then SIGKILL after stop_timeout); revert starts it."
    inject_op, revert_op, check_state = "stop", "start", "stopped"
    extra_schema = {"stop_timeout": _STOP_TIMEOUT}

    def fields(self, args: Mapping[str, Any], ctx: FaultContext) -> dict[str, Any]:
        return {"timeout": _seconds(self.kind, args.get("stop_timeout", 10))}


class ContainerPause(ContainerFault):
    kind = "container.pause"
    description = "Freeze every process of a container (cgroup freezer); revert unpauses it."
    inject_op, revert_op, check_state = "pause", "unpause", "paused"


class ContainerRestart(ContainerFault):
    """A restart is over when the call returns: no state to check, and nothing to undo.

    Its revert still makes sure the container runs, in case the restart left it stopped.
    """

    kind = "container.restart"
    description = (
        "Restart a container (a brief outage, new processes, a new network namespace). "
        "Nothing to undo: revert only makes sure the container is running."
    )
    inject_op, revert_op, check_state = "restart", "start", None
    extra_schema = {"stop_timeout": _STOP_TIMEOUT}

    def fields(self, args: Mapping[str, Any], ctx: FaultContext) -> dict[str, Any]:
        return {"timeout": _seconds(self.kind, args.get("stop_timeout", 10))}


class ContainerRemove(ContainerFault):
    kind = "container.remove"
    description = (
        "Remove a container (its volumes stay). Its inspect output is saved in the run "
        "directory first; revert recreates it with the same name, image and configuration, "
        "started if it was running."
    )
    inject_op, revert_op, check_state = "remove", "recreate", "absent"
    needs = "present"

    def fields(self, args: Mapping[str, Any], ctx: FaultContext) -> dict[str, Any]:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "-", ctx.token)
        # Absolute: `drillctl recover` may run from another directory.
        run_dir = os.path.abspath(ctx.run_dir or ".")
        return {"snapshot": os.path.join(run_dir, "faults", f"container-{safe}.json")}

    def manual(self, target: ContainerTarget, fields: Mapping[str, Any]) -> str:
        return (
            f"drillctl recover retries the recreate; by hand, recreate {target.describe()} "
            f"from its docker inspect output in {fields['snapshot']}"
        )


def _seconds(kind: str, value: Any) -> int:
    try:
        return round(parse_duration(value))
    except ValueError as exc:
        raise FaultArgError(f"{kind}: stop_timeout: {exc}") from None


def _docker_cli(target: ContainerTarget, op: str) -> str:
    """The docker CLI line that does what the revert op does, for an operator."""
    engine = "" if target.engine_url == DEFAULT_ENGINE else f"-H {shlex.quote(target.engine_url)} "
    if target.ref is not None:
        return f"docker {engine}{op} {shlex.quote(target.ref)}"
    label = shlex.quote(f"label={target.label}")
    return f"docker {engine}{op} $(docker {engine}ps -aq --filter {label})"


CONTAINER_FAULTS: tuple[Fault, ...] = (
    ContainerKill(),
    ContainerStop(),
    ContainerPause(),
    ContainerRestart(),
    ContainerRemove(),
)
