"""One step runner over the fake target, without a drill around it.

A test builds steps as the loader would (`step(...)`), runs them with `StepBench.run`, and
reads what a user or the evidence depends on: each host's result, the journal's events and
the values `register:` left for later steps.

`ScriptedAction` is a controller-side step kind whose outcomes a test scripts, one per
attempt, for what the fake target's commands cannot give (an outcome's data, an undo, a
time-out) and to see the context a step hands its action.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from runner.actions.base import Action, ActionContext, ActionOutcome, PlannedAction
from runner.connections.base import CancelToken, Connection
from runner.connections.pool import ConnectionPool
from runner.engine.results import HostResult, StepResult
from runner.engine.steps import StepEnvironment, StepRunner
from runner.inventory.model import Host
from runner.journal import Journal
from runner.playbook.model import Location, Step
from runner.secrets import SecretMask
from runner.templating.templar import Templar
from tests.fakes.connection import FakeTarget


def host(name: str, connection: str = "local", **host_vars: Any) -> Host:
    return Host(name, "127.0.0.1", connection, None, None, host_vars, ("all",))


def step(
    name: str, action: str = "shell", args: Any = None, *, phase: str = "deploy", **kw: Any
) -> Step:
    """A step as the loader builds it; `args` default to the fake command `ok NAME`."""
    kw.setdefault("delay_s", 0.0)
    return Step(
        phase,
        kw.pop("index", 0),
        name,
        action,
        f"ok {name}" if args is None else args,
        Location("drill.yml", 1, 1),
        **kw,
    )


class ScriptedAction(Action):
    """A step kind that returns the next scripted outcome and keeps every context it ran in."""

    name = "scripted"
    description = "scripted outcomes for tests"
    schema: ClassVar[dict[str, Any]] = {}
    shorthand_key = "say"
    expression_keys = frozenset({"expr"})
    controller_side = True

    def __init__(self) -> None:
        self.outcomes: list[ActionOutcome] = []
        self.contexts: list[ActionContext] = []
        self.args: list[Any] = []
        self.on_execute: Callable[[ActionContext], None] | None = None

    def plan(self, args: Any, host: Host) -> PlannedAction:
        self.args.append(args)
        return PlannedAction(self.name, f"scripted on {host.name}")

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        self.contexts.append(ctx)
        if self.on_execute is not None:
            self.on_execute(ctx)
        if not self.outcomes:
            return ActionOutcome(True, "scripted ok")
        return self.outcomes.pop(0)


@dataclass
class StepBench:
    """A step environment over a fake target, its journal in `tmp_path`."""

    tmp_path: Path
    static_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra_vars: dict[str, Any] = field(default_factory=dict)
    forks: int = 10
    serial: Any = None
    max_fail_percentage: float = 0.0
    secrets: tuple[str, ...] = ()
    target: FakeTarget = field(default_factory=FakeTarget)
    cancel: CancelToken = field(default_factory=CancelToken)
    done: list[tuple[str, HostResult]] = field(default_factory=list)
    # Connection factories by kind; the fake target's by default.
    factories: dict[str, Callable[[Host], Connection]] | None = None
    diffs: list[tuple[str, str, str]] | None = None  # (step, host, diff) with --diff

    def __post_init__(self) -> None:
        mask = SecretMask(self.secrets)
        self.journal = Journal(self.tmp_path / "journal.jsonl", mask)
        self.env = StepEnvironment(
            templar=Templar(mask),
            journal=self.journal,
            pool=ConnectionPool(self.factories or self.target.factories()),
            cancel=self.cancel,
            static_vars=self.static_vars,
            extra_vars=self.extra_vars,
            forks=self.forks,
            serial=self.serial,
            max_fail_percentage=self.max_fail_percentage,
            on_host_done=lambda st, result: self.done.append((st.name, result)),
        )
        diffs = self.diffs
        if diffs is not None:
            self.env.on_diff = lambda st, name, diff: diffs.append((st.name, name, diff))
        self.runner = StepRunner(self.env)

    def hosts(self, *names: str, **host_vars: Any) -> list[Host]:
        """Local hosts served by the fake target, each with `host_vars` as its variables."""
        for name in names:
            self.static_vars.setdefault(name, dict(host_vars))
        return [host(n) for n in names]

    def run(self, st: Step, hosts: list[Host]) -> StepResult:
        return self.runner.run(st, hosts)

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        lines = (self.tmp_path / "journal.jsonl").read_text().splitlines()
        found = [json.loads(line) for line in lines]
        return [e for e in found if kind is None or e["event"] == kind]

    def close(self) -> None:
        self.runner.close()
        self.journal.close()


def bench_fixture(tmp_path: Path, **kw: Any) -> Iterator[StepBench]:
    bench = StepBench(tmp_path, **kw)
    try:
        yield bench
    finally:
        bench.close()
