"""Faults: each plans its inject, check and revert up front, as data the journal can keep.

A fault's revert is written to the journal *before* the fault is injected (the
write-ahead fault ledger), so `drillctl recover` can undo it even after `kill -9`.
That is why every operation is plain, serializable data (`FaultOp`), never a closure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from runner.inventory.model import Host

SHELL = "shell"  # a script run on the target through its connection
DOCKER = "docker"  # a Docker API operation, run from the controller
LOCAL = "local"  # a script run on the controller (e.g. nsenter into a container's netns)
DEFAULT_SETTLE_S = 2.0  # a shell operation cut off mid-way: its last commands finishing


@dataclass(frozen=True)
class FaultOp:
    """One operation of a fault, serializable to JSON."""

    via: str
    script: str = ""
    docker: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"via": self.via, "script": self.script, "docker": dict(self.docker)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultOp:
        return cls(str(data["via"]), str(data.get("script", "")), dict(data.get("docker") or {}))

    def display(self) -> str:
        if self.via == DOCKER:
            shown = f"docker {self.docker.get('op')} {self.docker.get('container', '')}".strip()
            script = self.docker.get("script")
            return f"{shown}: {script}" if script else shown
        prefix = "local: " if self.via == LOCAL else ""
        return prefix + self.script.strip()


@dataclass(frozen=True)
class FaultPlan:
    """Everything a fault will do on one host, resolved before it does anything."""

    kind: str
    host: str
    summary: str
    inject: tuple[FaultOp, ...]
    revert: tuple[FaultOp, ...]
    check: FaultOp | None = None  # exit 0 / truthy while the fault is in effect
    duration_s: float | None = None
    # A manual command an operator can run if revert fails (shown loudly).
    manual: str = ""
    # Run before anything is changed: a non-zero exit means the target cannot carry
    # this fault (e.g. no sch_netem); `precheck_error` is the message, exit 3.
    precheck: FaultOp | None = None
    precheck_error: str = ""
    # The longest one inject or revert operation may still take on the target after its
    # runner died mid-operation (a stop in its grace period, a process given time to exit):
    # `drillctl recover` lets such an operation land before it reverts and checks.
    settle_s: float = DEFAULT_SETTLE_S

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "host": self.host,
            "summary": self.summary,
            "inject": [op.to_json() for op in self.inject],
            "revert": [op.to_json() for op in self.revert],
            "check": self.check.to_json() if self.check else None,
            "duration_s": self.duration_s,
            "manual": self.manual,
            "precheck": self.precheck.to_json() if self.precheck else None,
            "precheck_error": self.precheck_error,
            "settle_s": self.settle_s,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultPlan:
        check = data.get("check")
        precheck = data.get("precheck")
        return cls(
            kind=str(data["kind"]),
            host=str(data["host"]),
            summary=str(data.get("summary", "")),
            inject=tuple(FaultOp.from_json(o) for o in data.get("inject") or ()),
            revert=tuple(FaultOp.from_json(o) for o in data.get("revert") or ()),
            check=FaultOp.from_json(check) if check else None,
            duration_s=data.get("duration_s"),
            manual=str(data.get("manual", "")),
            precheck=FaultOp.from_json(precheck) if precheck else None,
            precheck_error=str(data.get("precheck_error", "")),
            settle_s=float(data.get("settle_s", DEFAULT_SETTLE_S)),
        )


class FaultArgError(ValueError):
    """The arguments of a fault make no sense (reported as bad input, located)."""


class FaultUnsupported(Exception):
    """The target cannot carry this fault (e.g. no sch_netem): an environment error."""


@dataclass(frozen=True)
class FaultContext:
    """What planning may use: a unique token for names and backup paths, the run directory."""

    token: str
    run_dir: str


class Fault(ABC):
    """One fault kind: `kind` is what authors write, `schema` validates its arguments."""

    kind: ClassVar[str]
    description: ClassVar[str]
    schema: ClassVar[dict[str, Any]]

    @abstractmethod
    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        """Resolve arguments into inject, check and revert operations; pure."""


class FaultInjector(Protocol):
    """What the `fault` step needs from the engine: the write-ahead ledger."""

    def next_id(self) -> str: ...

    def inject(self, plan: FaultPlan, fault_id: str) -> Any: ...
