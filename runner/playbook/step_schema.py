"""The schema of one step: its keywords (`when`, `loop`, `retries`, …) and one action key.

The action keys and their arguments come from the action registry, so an action's argument
schema lives beside the action.
"""

from __future__ import annotations

from typing import Any

from runner.actions import ACTIONS
from runner.durations import DURATION_SCHEMA

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"

_EXPRESSION = {"type": ["string", "boolean"], "description": "Jinja expression, without braces."}

STEP_KEYWORDS: dict[str, Any] = {
    "name": {"type": "string", "description": "What the step does, as the report shows it."},
    "hosts": {
        "type": "string",
        "description": "Host pattern for this step (default: the playbook's `hosts`).",
        "examples": ["gateway", "gateway:&canary", "all:!db"],
    },
    "when": {
        "description": "Run only when the expression(s) are true (all of a list).",
        "oneOf": [_EXPRESSION, {"type": "array", "items": _EXPRESSION}],
    },
    "register": {
        "type": "string",
        "pattern": IDENTIFIER,
        "x-pattern-hint": "register needs a variable name (letters, digits, _)",
        "description": (
            "Save the result (rc, stdout, status, json, …; `unreachable: true` and `msg`"
            " when the host could not be reached) in this variable."
        ),
    },
    "retries": {"type": "integer", "minimum": 0, "default": 0, "description": "Extra attempts."},
    "until": {**_EXPRESSION, "description": "Retry until this expression is true."},
    "delay": {**DURATION_SCHEMA, "default": "1s", "description": "Wait between attempts."},
    "timeout": {**DURATION_SCHEMA, "description": "Per-attempt limit; the process is killed."},
    "ignore_errors": {
        "type": "boolean",
        "default": False,
        "description": "A failure does not count.",
    },
    "tags": {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "Select with --tags / --skip-tags in prepare, deploy and inject "
        "(always, never, all as in Ansible); rollback, verify and cleanup always run.",
    },
    "loop": {
        "oneOf": [{"type": "array"}, {"type": "string"}],
        "description": "Run once per item (available as `item`); a list or a template.",
    },
    "run_once": {"type": "boolean", "default": False, "description": "Run on the first host only."},
    "become": {
        "type": "boolean",
        "description": "Run this step's commands with sudo (true) or not (false) on SSH hosts, "
        "whatever the host's `become` and `-b` say; unset, they decide. `true` on a local or "
        "Docker host is an error.",
    },
    "become_user": {
        "type": "string",
        "description": "Whom sudo runs this step's commands as (default: the host's "
        "`become_user`, `--become-user`, else root).",
        "examples": ["postgres"],
    },
}


def step_schema() -> dict[str, Any]:
    """One step: the keywords, and every registered action with its arguments."""
    props = dict(STEP_KEYWORDS)
    for name, action in ACTIONS.items():
        props[name] = action.schema
    return {
        "type": "object",
        "description": "One step: a `name`, exactly one action key, and optional keywords.",
        "x-unknown-key-label": "action or step keyword",
        "additionalProperties": False,
        "properties": props,
    }


def steps_schema() -> dict[str, Any]:
    """A phase's list of steps, each checked against the `step` definition."""
    return {"type": "array", "items": {"$ref": "#/$defs/step"}}
