"""What a lint rule is, and what it may look at.

A rule is a pure function from a `LintContext` to findings. Rules locate findings with
`ctx.diag(...)`; `lint_file` stamps each with the rule's id and severity, so a rule never
restates them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from runner.errors import Diagnostic
from runner.inventory.model import Inventory
from runner.playbook.loader import is_expression, strings_in
from runner.playbook.model import PHASES, Playbook
from runner.templating.templar import Templar, checking_templar
from runner.yamlpos import YamlDocument

ERROR = "error"
WARNING = "warning"

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class StepRef:
    """One raw step of the document: where it is, and its one action (if it has exactly one)."""

    phase: str
    index: int
    raw: dict[str, Any]
    action: str | None

    @property
    def path(self) -> PathKey:
        return (self.phase, self.index)

    @property
    def args(self) -> Any:
        return self.raw.get(self.action) if self.action else None


@dataclass
class LintContext:
    """The playbook being linted, as the document and (when it loads) the model."""

    doc: YamlDocument
    playbook: Playbook | None
    inventory: Inventory | None = None
    extra_vars: frozenset[str] = frozenset()
    templar: Templar = field(default_factory=checking_templar)

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.value if isinstance(self.doc.value, dict) else {}

    def diag(self, path: PathKey, message: str, *, at_key: bool = False) -> Diagnostic:
        return self.doc.diag(path, message, at_key=at_key)

    @cached_property
    def steps(self) -> list[StepRef]:
        from runner.actions import ACTIONS

        found = []
        for phase in PHASES:
            raw = self.data.get(phase)
            if not isinstance(raw, list):
                continue
            for index, step in enumerate(raw):
                if isinstance(step, dict):
                    actions = [k for k in step if k in ACTIONS]
                    # The first action, as the loader (which reports a second one) sees it.
                    action = actions[0] if actions else None
                    found.append(StepRef(phase, index, step, action))
        return found

    def phase_steps(self, phase: str) -> list[StepRef]:
        return [s for s in self.steps if s.phase == phase]

    def template_strings(self) -> Iterator[tuple[PathKey, str, bool]]:
        """Every string that is rendered: (path, text, is a bare expression)."""
        for key, value in _mapping(self.data.get("vars")).items():
            for path, text in strings_in(value, ("vars", key)):
                yield path, text, False
        for step in self.steps:
            for key, value in step.raw.items():
                for path, text in strings_in(value, (*step.path, key)):
                    expression = step.action is not None and is_expression(step.action, path[2:])
                    yield path, text, expression or key in ("when", "until")
        for path, text in strings_in(_mapping(self.data.get("probes")), ("probes",)):
            yield path, text, False


Check = Callable[[LintContext], Iterable[Diagnostic]]


@dataclass(frozen=True)
class Rule:
    """One lint rule: its id, severity, why it exists, and the check (whose docstring is its
    documentation). `on_broken` rules also run on a playbook the loader refused."""

    id: str
    severity: str
    rationale: str
    check: Check
    on_broken: bool = False

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.check) or self.rationale


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def mapping(value: Any) -> dict[str, Any]:
    """`value` if it is a mapping, else an empty one (rules read half-valid documents)."""
    return _mapping(value)


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)
