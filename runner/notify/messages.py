"""The messages of the procedure's communication plan, filled in from the drill.

Wording follows the procedure ("[ROLLBACK] Initiating rollback of [DEPLOYMENT] due to
[ISSUE]. Expected completion: [TIME]." ...), each overridable with a Jinja template that
gets the same fields. A figure not measured reads "not measured", never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_TEMPLATES: Mapping[str, tuple[str, str]] = {
    # event: (title, body)
    "start": (
        "[DRILL] {{ drill }} starting",
        "Rollback drill of {{ component }} starting on {{ environment }} "
        "(rollback type {{ rollback_type }}, budget {{ budget }}).{{ change_line }}",
    ),
    "rollback": (
        "[ROLLBACK] {{ component }} - {{ drill }}",
        "[ROLLBACK] Initiating rollback of {{ component }} due to {{ reason }}. "
        "Expected completion: {{ eta }}. Updates at every rollback step.",
    ),
    "progress": (
        "[ROLLBACK UPDATE] {{ component }}",
        "[ROLLBACK UPDATE] Step {{ step_number }} of {{ step_count }} complete "
        "({{ step_name }}): {{ step_status }}. ETA: {{ eta }}.",
    ),
    "complete": (
        "[ROLLBACK COMPLETE] {{ component }} - {{ drill }}",
        "[ROLLBACK COMPLETE] Drill {{ status }} at {{ now }}. {{ figures }}",
    ),
    "failure": (
        "[DRILL FAILED] {{ component }} - {{ drill }}",
        "Drill {{ status }} at {{ now }}: {{ reason }}. {{ figures }}",
    ),
}


@dataclass(frozen=True)
class Message:
    """One message for every channel that wants its event."""

    event: str
    title: str
    body: str


def figures_line(figures: Mapping[str, float | int | None]) -> str:
    """`time to roll back 0.34s, RTO 0.50s, lost writes 0, RPO not measured`."""
    names = {
        "time_to_rollback_s": "time to roll back",
        "rto_s": "RTO",
        "downtime_s": "downtime",
        "lost_writes": "lost writes",
        "rpo_s": "RPO",
    }
    parts = []
    for key, label in names.items():
        if key not in figures:
            continue
        value = figures[key]
        if value is None:
            parts.append(f"{label} not measured")
        elif key == "lost_writes":
            parts.append(f"{label} {int(value)}")
        else:
            parts.append(f"{label} {float(value):.2f}s")
    return ", ".join(parts) + "." if parts else ""


def fields_for(event: str, base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Every field a template of `event` may use; missing ones read 'unknown'."""
    fields = {
        "drill": "",
        "component": "",
        "environment": "",
        "rollback_type": "",
        "budget": "unknown",
        "change_line": "",
        "reason": "unknown",
        "eta": "unknown",
        "step_number": "?",
        "step_count": "?",
        "step_name": "",
        "step_status": "",
        "status": "",
        "now": "",
        "figures": "",
        **base,
        **extra,
    }
    fields["event"] = event
    return fields
