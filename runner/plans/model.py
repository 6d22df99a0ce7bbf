"""Load a drill plan: a schema check with located errors, then the entries as dataclasses.

```yaml
quarter: 2026Q4            # optional when the file is named after the quarter
drills:
  - id: gateway-code
    playbook: playbooks/app-code-rollback.yml
    inventory: inventories/local.yml
    owner: platform-team
    due: 2026-12-15
    change_ids: [CHG-4711]
    extra_vars: {lab_port: 18201}
```

Paths are relative to the current directory, like every path drillctl is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from runner.errors import Diagnostic, InputError
from runner.history.quarter import Quarter
from runner.validation import validate_document
from runner.yamlpos import YamlDocument, load_yaml

PLAN_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "drillctl quarterly drill plan",
    "type": "object",
    "required": ["drills"],
    "additionalProperties": False,
    "properties": {
        "quarter": {
            "type": "string",
            "pattern": r"^\d{4}Q[1-4]$",
            "x-pattern-hint": "a quarter like 2026Q4",
        },
        "description": {"type": "string"},
        "drills": {"type": "array", "items": {"$ref": "#/$defs/entry"}},
    },
    "$defs": {
        "entry": {
            "type": "object",
            "required": ["id", "playbook", "inventory", "owner", "due"],
            "additionalProperties": False,
            "x-unknown-key-label": "drill plan key",
            "properties": {
                "id": {
                    "type": "string",
                    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                    "x-pattern-hint": "letters, digits, '.', '_' or '-'",
                },
                "playbook": {"type": "string", "minLength": 1},
                "inventory": {"type": "string", "minLength": 1},
                "owner": {"type": "string", "minLength": 1},
                "due": {
                    "type": "string",
                    "pattern": r"^\d{4}-\d{2}-\d{2}$",
                    "x-pattern-hint": "a date like 2026-12-15",
                },
                "change_ids": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "extra_vars": {"type": "object"},
                "description": {"type": "string"},
            },
        }
    },
}


@dataclass(frozen=True)
class PlanEntry:
    id: str
    playbook: str
    inventory: str
    owner: str
    due: date
    change_ids: tuple[str, ...] = ()
    extra_vars: dict[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class DrillPlan:
    path: str
    quarter: Quarter
    entries: tuple[PlanEntry, ...]

    def key(self, entry: PlanEntry) -> str:
        """How the history names an entry: `2026Q4/gateway-code`."""
        return f"{self.quarter}/{entry.id}"


def load_plan(path: str | Path, *, check_files: bool = True) -> DrillPlan:
    """Parse and validate a plan; InputError lists every problem, located."""
    doc = load_yaml(path, strict=False)
    diags: list[Diagnostic] = list(doc.problems)
    if not isinstance(doc.value, dict):
        diags.append(doc.diag((), "a drill plan is a mapping with `drills:` (a list of entries)"))
        raise InputError(diags)
    diags.extend(validate_document(doc, PLAN_SCHEMA))
    quarter = _quarter(doc, Path(path), diags)
    entries = _entries(doc, diags, check_files)
    if diags or quarter is None:
        raise InputError(diags)
    return DrillPlan(str(path), quarter, entries)


def _quarter(doc: YamlDocument, path: Path, diags: list[Diagnostic]) -> Quarter | None:
    raw = doc.value.get("quarter")
    try:
        return Quarter.parse(raw if isinstance(raw, str) else path.stem)
    except ValueError:
        if raw is None:
            why = "say which quarter the plan is for (`quarter: 2026Q4`) or name the file after it"
            diags.append(doc.diag((), why))
        return None  # a bad `quarter:` value was reported by the schema


def _entries(
    doc: YamlDocument, diags: list[Diagnostic], check_files: bool
) -> tuple[PlanEntry, ...]:
    raw = doc.value.get("drills")
    entries: list[PlanEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "playbook", "inventory", "owner", "due")
        ):
            continue  # the schema has said what is wrong with it
        path: tuple[str | int, ...] = ("drills", i)
        if item["id"] in seen:
            diags.append(doc.diag((*path, "id"), f"drill id {item['id']!r} is listed twice"))
        seen.add(item["id"])
        try:
            due = date.fromisoformat(item["due"])
        except ValueError:
            diags.append(doc.diag((*path, "due"), f"due: {item['due']!r} is not a calendar date"))
            continue
        if check_files:
            for key in ("playbook", "inventory"):
                if not Path(item[key]).is_file():
                    why = f"{key}: no such file {item[key]!r} (relative to the current directory)"
                    diags.append(doc.diag((*path, key), why))
        entries.append(
            PlanEntry(
                id=item["id"],
                playbook=item["playbook"],
                inventory=item["inventory"],
                owner=item["owner"],
                due=due,
                change_ids=tuple(c for c in item.get("change_ids") or () if isinstance(c, str)),
                extra_vars=dict(item.get("extra_vars") or {}),
                description=str(item.get("description", "")),
            )
        )
    return tuple(entries)
