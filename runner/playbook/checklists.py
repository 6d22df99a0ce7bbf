"""Checklists from the rollback procedures: before, during and after the rollback.

An item is either a check tied to a step (ticked when that step succeeded on every
host) or a confirmation an operator gives (`--confirm ID`, or at the prompt). The
report shows each item's state, and who confirmed what, when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LISTS = ("before", "during", "after")

ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "text"],
    "properties": {
        "id": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_.-]+$",
            "description": "For --confirm ID.",
        },
        "text": {"type": "string", "description": "The item as the procedure words it."},
        "step": {"type": "string", "description": "Ticked when the step of this name succeeded."},
        "confirm": {"type": "boolean", "description": "An operator confirms it (--confirm ID)."},
    },
}

CHECKLISTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "The seed's checklists: items ticked by steps or confirmed by an operator.",
    "properties": {name: {"type": "array", "items": ITEM_SCHEMA} for name in LISTS},
    "examples": [
        {
            "before": [{"id": "stakeholders", "text": "Stakeholders notified", "confirm": True}],
            "after": [
                {"id": "healthy", "text": "Services verified operational", "step": "healthy again"}
            ],
        }
    ],
}


@dataclass(frozen=True)
class ChecklistItem:
    list: str
    id: str
    text: str
    step: str = ""
    confirm: bool = False


@dataclass(frozen=True)
class Confirmation:
    id: str
    by: str
    at: str


def parse_checklists(raw: Any) -> tuple[ChecklistItem, ...]:
    if not isinstance(raw, dict):
        return ()
    items = []
    for name in LISTS:
        for item in raw.get(name) or ():
            if isinstance(item, dict) and "id" in item and "text" in item:
                items.append(
                    ChecklistItem(
                        name,
                        str(item["id"]),
                        str(item["text"]),
                        str(item.get("step", "")),
                        item.get("confirm") is True,
                    )
                )
    return tuple(items)


def evaluate(
    items: tuple[ChecklistItem, ...],
    step_statuses: dict[str, list[str]],
    confirmations: dict[str, Confirmation],
) -> list[dict[str, Any]]:
    """Each item's state: ticked / failed / not run (steps), confirmed / open (operators)."""
    out = []
    for item in items:
        entry: dict[str, Any] = {"list": item.list, "id": item.id, "text": item.text}
        if item.step:
            statuses = step_statuses.get(item.step, [])
            if not statuses:
                state = "not run"
            elif all(s == "ok" for s in statuses):
                state = "ticked"
            else:
                state = "failed"
            entry.update(kind="check", step=item.step, state=state)
        else:
            given = confirmations.get(item.id)
            entry.update(kind="confirmation", state="confirmed" if given else "open")
            if given:
                entry.update(by=given.by, at=given.at)
        out.append(entry)
    return out
