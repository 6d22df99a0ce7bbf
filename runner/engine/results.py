"""What happened, per host, per step, per phase: the typed record the reports are built from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.actions.base import Undo
from runner.engine.fanout import too_many_failed
from runner.playbook.model import Step

# Host and step statuses.
OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"
IGNORED = "ignored"  # failed, but the step says ignore_errors
UNREACHABLE = "unreachable"
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class HostResult:
    host: str
    status: str
    msg: str = ""
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    started_at: str = ""
    started_mono: float = 0.0
    duration_s: float = 0.0
    attempts: int = 1
    summary: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    undos: tuple[Undo, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status in (FAILED, UNREACHABLE, INTERRUPTED)


@dataclass(frozen=True)
class StepResult:
    step: Step
    hosts: tuple[HostResult, ...]
    started_at: str
    started_mono: float
    duration_s: float
    max_fail_percentage: float = 0.0

    @property
    def status(self) -> str:
        statuses = {h.status for h in self.hosts}
        for s in (INTERRUPTED, UNREACHABLE, FAILED, IGNORED, OK):
            if s in statuses:
                return FAILED if s == UNREACHABLE else s
        return SKIPPED

    @property
    def failed(self) -> bool:
        """The step failed as a whole: interrupted, or more hosts failed than tolerated."""
        if any(h.status == INTERRUPTED for h in self.hosts):
            return True
        bad = sum(1 for h in self.hosts if h.failed)
        return too_many_failed(bad, len(self.hosts), self.max_fail_percentage)

    def failed_hosts(self) -> list[str]:
        return [h.host for h in self.hosts if h.failed]

    def first_failure(self) -> HostResult | None:
        return next((h for h in self.hosts if h.failed), None)


@dataclass(frozen=True)
class PhaseResult:
    phase: str
    steps: tuple[StepResult, ...]
    started_at: str
    started_mono: float
    duration_s: float
    skipped_reason: str = ""

    @property
    def ran(self) -> bool:
        return not self.skipped_reason

    @property
    def failed(self) -> bool:
        return any(s.failed for s in self.steps)

    def first_failure(self) -> StepResult | None:
        return next((s for s in self.steps if s.failed), None)
