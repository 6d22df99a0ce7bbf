"""The drill, as the engine sees it: typed, frozen, and located in its source file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.measure.specs import DEFAULT_MEASURE_FROM, ProbeSpec, TriggerRule
from runner.notify.plan import NotifyPlan
from runner.playbook.checklists import ChecklistItem

PHASES = ("prepare", "deploy", "inject", "rollback", "verify", "cleanup")
# Phases whose failure starts the rollback (README, Concepts).
ROLLBACK_STARTERS = ("deploy", "inject", "verify")
# Seed budgets by rollback type, seconds; type 5 is fix-forward only.
BUDGETS_S: Mapping[int, float | None] = {1: 60.0, 2: 300.0, 3: 1800.0, 4: 7200.0, 5: None}


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Step:
    phase: str
    index: int
    name: str
    action: str
    args: Any
    location: Location
    hosts: str | None = None
    when: tuple[str | bool, ...] = ()
    register: str | None = None
    retries: int = 0
    until: str | bool | None = None
    delay_s: float = 1.0
    timeout_s: float | None = None
    ignore_errors: bool = False
    tags: tuple[str, ...] = ()
    loop: Any = None
    run_once: bool = False
    become: bool | None = None  # None: the host's become (or -b) decides
    become_user: str | None = None
    # Path of this step in the YAML document, to locate errors found later.
    yaml_path: tuple[str | int, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.phase}[{self.index}] {self.name}"


@dataclass(frozen=True)
class Objectives:
    rto_s: float | None = None
    rpo_s: float | None = None


@dataclass(frozen=True)
class Decision:
    manual: bool = False
    timeout_s: float | None = None
    on_timeout: str = "rollback"  # or "abort": no rollback without a human decision
    approvers: int = 1  # distinct approvals needed (a quorum for a critical change)


@dataclass(frozen=True)
class Playbook:
    path: str
    drill: str
    rollback_type: int
    component: str = ""
    description: str = ""
    objectives: Objectives = field(default_factory=Objectives)
    hosts: str = "all"
    vars: Mapping[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    forks: int = 10
    serial: Any = None
    max_fail_percentage: float = 0.0
    rollback_when: str = "always"
    rollback_auto: bool = False
    decision: Decision = field(default_factory=Decision)
    probes: Mapping[str, ProbeSpec] = field(default_factory=dict)
    triggers: tuple[TriggerRule, ...] = ()
    measure_from: str = DEFAULT_MEASURE_FROM  # when availability and data judging start
    phases: Mapping[str, tuple[Step, ...]] = field(default_factory=dict)
    checklists: tuple[ChecklistItem, ...] = ()
    notify: NotifyPlan | None = None  # who hears about the drill (the communication plan)
    inventory: str = ""  # default inventory, resolved against the playbook's directory

    @property
    def budget_s(self) -> float | None:
        return BUDGETS_S[self.rollback_type]

    def steps(self, phase: str) -> tuple[Step, ...]:
        return self.phases.get(phase, ())

    def all_steps(self) -> list[Step]:
        return [s for p in PHASES for s in self.steps(p)]
