"""`drillctl lint`: everything the loader finds, plus what a reviewer would catch.

Rules beyond the schema grow here (issue 7); today: undefined variables in templates.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runner.engine.variables import MAGIC_NAMES
from runner.errors import Diagnostic, InputError
from runner.inventory.model import Inventory
from runner.playbook.budget_rule import check_budget
from runner.playbook.loader import analyse, is_expression, strings_in
from runner.playbook.model import PHASES
from runner.playbook.templating import Templar, TemplateError
from runner.yamlpos import YamlDocument, load_yaml

UNDEFINED = "undefined-variable"


def lint_file(
    path: str | Path, *, inventory: Inventory | None = None, extra_vars: Iterable[str] = ()
) -> list[Diagnostic]:
    """All findings for one playbook file, sorted by position."""
    try:
        doc = load_yaml(path, strict=False)
    except InputError as exc:
        return exc.diagnostics
    playbook, diags = analyse(doc)
    if isinstance(doc.value, dict):
        diags.extend(undefined_variables(doc, inventory, set(extra_vars)))
    if playbook is not None and not diags:
        diags.extend(check_budget(playbook, doc))
    return sorted(set(diags))


def undefined_variables(
    doc: YamlDocument, inventory: Inventory | None, extra: set[str]
) -> list[Diagnostic]:
    data: dict[str, Any] = doc.value
    templar = Templar()
    playbook_vars: dict[str, Any] = _mapping(data.get("vars"))
    known = set(MAGIC_NAMES) | set(templar.env.globals) | set(playbook_vars) | extra
    known |= {s for s in _sequence(data.get("secrets")) if isinstance(s, str)}
    if inventory is not None:
        for host in inventory.hosts.values():
            known |= set(host.vars)
    known |= {
        step["register"]
        for phase in PHASES
        for step in _sequence(data.get(phase))
        if isinstance(step, dict) and isinstance(step.get("register"), str)
    }
    hint = "" if inventory is not None else "; if the inventory defines it, lint with -i INVENTORY"
    found: list[Diagnostic] = []

    def check(path: tuple[str | int, ...], text: str, names: set[str], expression: bool) -> None:
        try:
            used = templar.variables_required(text, expression=expression)
        except TemplateError:
            return  # the loader reports syntax errors
        for name in sorted(used - names):
            close = difflib.get_close_matches(name, sorted(names), n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else hint
            found.append(doc.diag(path, f"{name!r} is not defined{suggestion}", rule=UNDEFINED))

    for key, value in playbook_vars.items():
        for path, text in strings_in(value, ("vars", key)):
            check(path, text, known, False)
    for phase in PHASES:
        steps = data.get(phase)
        if not isinstance(steps, list):
            continue
        for i, step in enumerate(steps):
            if not isinstance(step, dict):
                continue
            action = next((k for k in step if k in _action_names()), None)
            names = known | ({"item"} if "loop" in step else set())
            if "until" in step:
                names |= {"result"}
            for key, value in step.items():
                for path, text in strings_in(value, (phase, i, key)):
                    rel = path[2:]
                    expression = action is not None and is_expression(action, rel)
                    check(path, text, names, expression or key in ("when", "until"))
    probes = data.get("probes")
    if isinstance(probes, dict):
        for path, text in strings_in(probes, ("probes",)):
            check(path, text, known | {"seq"}, False)
    return found


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _action_names() -> set[str]:
    from runner.actions import ACTIONS

    return set(ACTIONS)
