"""`drillctl lint`: everything the loader finds, plus what a reviewer would catch.

The rules live in `runner.lint.rules`. Rules marked `on_broken` (undefined variables)
run on any playbook that is a mapping; the others run once the playbook loads and those are
clean, so a broken file is not buried under findings that follow from the break.

A finding is silenced by a comment on its line: `# noqa: rule-id[, rule-id]` (or a bare
`# noqa` for every rule). Schema and YAML errors cannot be silenced.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from pathlib import Path

from runner.errors import Diagnostic, InputError
from runner.inventory import load_inventory
from runner.inventory.model import Inventory
from runner.lint.rules import RULES, LintContext, Rule
from runner.lint.rules.variables import UNDEFINED
from runner.playbook.loader import analyse
from runner.yamlpos import load_yaml

__all__ = ["RULES", "UNDEFINED", "lint_file"]

_NOQA = re.compile(r"#\s*noqa\b(?::\s*([A-Za-z0-9_,\s-]+))?", re.IGNORECASE)


def lint_file(
    path: str | Path, *, inventory: Inventory | None = None, extra_vars: Iterable[str] = ()
) -> list[Diagnostic]:
    """All findings for one playbook file, sorted by position."""
    try:
        doc = load_yaml(path, strict=False)
    except InputError as exc:
        return exc.diagnostics
    playbook, found = analyse(doc)
    if not isinstance(doc.value, dict):
        return found
    if inventory is None and playbook is not None and playbook.inventory:
        try:
            inventory = _default_inventory(playbook.inventory)
        except InputError as exc:
            return sorted(set(found + exc.diagnostics))
    ctx = LintContext(doc, playbook, inventory, frozenset(extra_vars))
    for rule in RULES.values():
        if rule.on_broken:
            found.extend(_run(rule, ctx))
    if playbook is not None and not found:
        for rule in RULES.values():
            if not rule.on_broken:
                found.extend(_run(rule, ctx))
    return sorted(set(_without_noqa(found)))


def _default_inventory(path: str) -> Inventory:
    """Playbooks of one repository share their inventory: read it once per change."""
    resolved = Path(path).resolve()
    try:
        stamp = resolved.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _load_inventory_cached(str(resolved), stamp)


@functools.lru_cache(maxsize=32)
def _load_inventory_cached(path: str, stamp: int) -> Inventory:
    return load_inventory(path)


def _run(rule: Rule, ctx: LintContext) -> list[Diagnostic]:
    return [dataclasses.replace(d, rule=rule.id, severity=rule.severity) for d in rule.check(ctx)]


def _without_noqa(found: list[Diagnostic]) -> list[Diagnostic]:
    if not any(d.rule for d in found):
        return found
    texts: dict[str, list[str]] = {}

    def lines_of(file: str) -> list[str]:
        # A finding is silenced on its own line: in the playbook, or in the inventory for
        # a finding located there.
        if file not in texts:
            try:
                texts[file] = Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                texts[file] = []
        return texts[file]

    kept = []
    for d in found:
        lines = lines_of(d.path) if d.rule else []
        line = lines[d.line - 1] if d.rule and 0 < d.line <= len(lines) else ""
        match = _NOQA.search(line)
        if match is None:
            kept.append(d)
            continue
        ids = match.group(1)
        if ids is not None and d.rule not in re.split(r"[\s,]+", ids.strip()):
            kept.append(d)
    return kept
