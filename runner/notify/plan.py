"""`notify:` in a playbook: channels, the stakeholder groups per change kind, and messages.

The rollback procedure names who must hear about a rollback of each kind of change and
when (at the start, with regular progress, at completion). A drill rehearses that too:

    notify:
      change_kind: trading            # application | trading | infrastructure | database
      channels:                       # name: an Apprise URL (Slack, Teams, mailto, json, ...)
        desk: "json://127.0.0.1:9000/hook"
        mail: "mailto://smtp.example.net?to=trading-desk@example.net"
      stakeholders:                   # stakeholder group: the channels that reach it
        Trading desk: [desk, mail]
        Compliance: [mail]
      events: [start, rollback, progress, complete, failure]
      timeout: 5s                     # at most this long per delivery; the drill never waits more
      templates:                      # Jinja, sandboxed; overrides one event's message
        rollback: "[ROLLBACK] {{ drill }} ({{ reason }})"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.durations import parse_duration

EVENTS = ("start", "rollback", "progress", "complete", "failure")

# The procedure's "stakeholders by change type", used to say who was meant to hear.
PROCEDURE_STAKEHOLDERS: Mapping[str, tuple[str, ...]] = {
    "application": (
        "Development team",
        "QA team",
        "Operations",
        "Product owners",
        "End users (if customer-facing)",
    ),
    "trading": (
        "Trading desk",
        "Risk management",
        "Head of trading",
        "Compliance",
        "Operations",
    ),
    "infrastructure": (
        "All development teams",
        "Operations",
        "Security team",
        "Vendors (if affected)",
    ),
    "database": ("Application teams", "Data analysts", "Reporting users", "Business intelligence"),
}

DEFAULT_TIMEOUT_S = 10.0

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Who hears about the drill and its rollback, and through which channels.",
    "examples": [
        {
            "change_kind": "trading",
            "channels": {"desk": "json://127.0.0.1:9000/hook"},
            "stakeholders": {"Trading desk": ["desk"]},
        }
    ],
    "additionalProperties": False,
    "required": ["channels"],
    "properties": {
        "change_kind": {
            "enum": sorted(PROCEDURE_STAKEHOLDERS),
            "description": "The procedure's change type; names the stakeholder groups to reach.",
            "examples": ["trading"],
        },
        "channels": {
            "type": "object",
            "minProperties": 1,
            "description": "Channel name: an Apprise URL (templated; secrets in it are masked).",
            "examples": [{"desk": "slack://{{ slack_token }}/#trading-desk"}],
            "additionalProperties": {"type": "string", "minLength": 1},
        },
        "stakeholders": {
            "type": "object",
            "description": "Stakeholder group: the channel names that reach it.",
            "examples": [{"Trading desk": ["desk"], "Compliance": ["mail"]}],
            "additionalProperties": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
            },
        },
        "events": {
            "type": "array",
            "items": {"enum": list(EVENTS)},
            "uniqueItems": True,
            "description": "Which messages to send (default: all).",
            "examples": [["rollback", "complete", "failure"]],
        },
        "timeout": {
            "type": ["string", "number"],
            "description": "Longest wait for one delivery (default 10s); the drill goes on.",
            "examples": ["5s"],
        },
        "templates": {
            "type": "object",
            "description": "Jinja text per event, replacing the procedure's wording.",
            "examples": [{"rollback": "[ROLLBACK] {{ component }}: {{ reason }}"}],
            "propertyNames": {"enum": list(EVENTS)},
            "additionalProperties": {"type": "string"},
        },
    },
}


@dataclass(frozen=True)
class NotifyPlan:
    """What `notify:` says, checked: channels by name and who each one reaches."""

    channels: Mapping[str, str]
    audience: Mapping[str, tuple[str, ...]]  # channel name → stakeholder groups it reaches
    change_kind: str | None = None
    events: tuple[str, ...] = EVENTS
    timeout_s: float = DEFAULT_TIMEOUT_S
    templates: Mapping[str, str] = field(default_factory=dict)

    def unreached(self) -> tuple[str, ...]:
        """Stakeholder groups the procedure names for this change kind that no channel reaches."""
        if self.change_kind is None:
            return ()
        reached = {group for groups in self.audience.values() for group in groups}
        return tuple(g for g in PROCEDURE_STAKEHOLDERS[self.change_kind] if g not in reached)


class NotifyPlanError(ValueError):
    """`notify:` that passed the schema but cannot work; `path` locates it in the playbook."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def parse_notify(data: Mapping[str, Any]) -> NotifyPlan:
    """A schema-valid `notify:` mapping as a plan; a dangling channel name is an error."""
    channels = {str(k): str(v) for k, v in data["channels"].items()}
    audience: dict[str, list[str]] = {name: [] for name in channels}
    for group, names in (data.get("stakeholders") or {}).items():
        for i, name in enumerate(names):
            if name not in channels:
                known = ", ".join(channels)
                raise NotifyPlanError(
                    ("notify", "stakeholders", group, i),
                    f"stakeholder group {group!r} names channel {name!r}, which is not under "
                    f"notify.channels (known: {known})",
                )
            audience[name].append(str(group))
    try:
        timeout = parse_duration(data.get("timeout", DEFAULT_TIMEOUT_S))
    except ValueError as exc:
        raise NotifyPlanError(("notify", "timeout"), str(exc)) from None
    if not 0 < timeout <= 300:
        raise NotifyPlanError(("notify", "timeout"), "timeout must be more than 0s and at most 5m")
    return NotifyPlan(
        channels=channels,
        audience={name: tuple(groups) for name, groups in audience.items()},
        change_kind=data.get("change_kind"),
        events=tuple(data.get("events") or EVENTS),
        timeout_s=timeout,
        templates=dict(data.get("templates") or {}),
    )
