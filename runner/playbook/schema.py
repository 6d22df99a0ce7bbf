"""The playbook JSON Schema (draft 2020-12), assembled from its parts.

Built in code so that an action's argument schema lives beside the action (see
`step_schema`), the probes' and triggers' beside their defaults (`probe_schema`); the
committed copy in docs/schema/ is checked against this by a test.
"""

from __future__ import annotations

from typing import Any

from runner.actions import ACTIONS
from runner.durations import DURATION_SCHEMA
from runner.measure.specs import DEFAULT_MEASURE_FROM
from runner.notify.plan import SCHEMA as NOTIFY_SCHEMA
from runner.playbook.checklists import CHECKLISTS_SCHEMA
from runner.playbook.model import PHASES
from runner.playbook.probe_schema import PROBE_SCHEMA, TRIGGER_SCHEMA
from runner.playbook.step_schema import IDENTIFIER, step_schema, steps_schema

SCHEMA_ID = "https://drillctl.dev/schema/playbook.schema.json"


def playbook_schema() -> dict[str, Any]:
    """The full playbook schema, ready for `jsonschema` or an editor."""
    phase_props: dict[str, Any] = {
        p: {**steps_schema(), "description": _PHASE_DOCS[p]} for p in PHASES
    }
    phase_props["rollback"] = {
        "description": _PHASE_DOCS["rollback"],
        "oneOf": [steps_schema(), {"const": "auto"}],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "drillctl playbook",
        "description": "One drill: baseline, change, faults, rollback, verification.",
        "type": "object",
        "additionalProperties": False,
        "required": ["drill", "rollback_type"],
        "properties": {
            "drill": {"type": "string", "minLength": 1, "description": "The drill's name."},
            "description": {"type": "string"},
            "component": {"type": "string", "description": "The component under test."},
            "rollback_type": {
                "type": "integer",
                "minimum": 1,
                "maximum": 5,
                "description": "Seed classification: 1 <1m, 2 <5m, 3 <30m, 4 <2h, 5 no rollback.",
            },
            "objectives": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "rto": {**DURATION_SCHEMA, "description": "Recovery time objective."},
                    "rpo": {**DURATION_SCHEMA, "description": "Recovery point objective."},
                },
            },
            "hosts": {"type": "string", "default": "all", "description": "Default host pattern."},
            "inventory": {
                "type": "string",
                "description": "Inventory to use when -i is not given, relative to this file "
                "(so lint in pre-commit and a bare `drillctl run` find the right hosts).",
                "examples": ["../inventories/local.yml"],
            },
            "vars": {"type": "object", "description": "Playbook variables (over inventory vars)."},
            "secrets": {
                "type": "array",
                "items": {"type": "string", "pattern": IDENTIFIER},
                "description": "Variables whose values are masked in every output.",
            },
            "env": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                "uniqueItems": True,
                "description": "Environment variables of the controller the playbook reads "
                "with env('NAME'); reading one not listed is a lint error. Their values are "
                "masked unless read with env('NAME', secret=false) (or shorter than 4 "
                "characters, unless read with secret=true).",
                "examples": [["DB_PASSWORD", "REGION"]],
            },
            "serial": {
                "description": "Run each step on hosts in batches: a number, a percentage "
                "('30%'), or a list of them (the last repeats), as Ansible's serial.",
                "oneOf": [
                    {"type": "integer", "minimum": 1},
                    {"type": "string", "pattern": r"^\d+(\.\d+)?%$"},
                    {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "oneOf": [
                                {"type": "integer", "minimum": 1},
                                {"type": "string", "pattern": r"^\d+(\.\d+)?%$"},
                            ]
                        },
                    },
                ],
            },
            "max_fail_percentage": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "default": 0,
                "description": "Share of a step's hosts that may fail (or be unreachable) "
                "before the step counts as failed; failed hosts drop out of the change. A "
                "rollback or verify step that fails on any host still fails the drill (the "
                "rollback is not proven there).",
            },
            "forks": {
                "type": "integer",
                "minimum": 1,
                "default": 10,
                "description": "Hosts at once.",
            },
            "rollback_when": {
                "enum": ["always", "failure"],
                "default": "always",
                "description": "`always` rehearses the rollback every run; `failure` only when "
                "a step or trigger fails (a failing verify then starts it).",
            },
            "checklists": CHECKLISTS_SCHEMA,
            "notify": NOTIFY_SCHEMA,
            "probes": {
                "type": "object",
                "propertyNames": {"pattern": IDENTIFIER},
                "additionalProperties": PROBE_SCHEMA,
            },
            "triggers": {"type": "array", "items": TRIGGER_SCHEMA},
            "measure_from": {
                "enum": ["deploy", "prepare"],
                "default": DEFAULT_MEASURE_FROM,
                "examples": ["prepare"],
                "description": "When availability and data judging start: when the change "
                "begins (`deploy`; what prepare does to bring the baseline is no incident), or "
                "when prepare begins (`prepare`).",
            },
            "decision": {
                "oneOf": [
                    {"const": "auto"},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["manual"],
                        "properties": {
                            "manual": {"type": "boolean"},
                            "timeout": {**DURATION_SCHEMA, "default": "15m"},
                            "on_timeout": {
                                "enum": ["rollback", "abort"],
                                "default": "rollback",
                                "description": "Without approval in time: roll back anyway, "
                                "or abort (no rollback; the drill fails).",
                            },
                            "approvers": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 10,
                                "default": 1,
                                "examples": [2],
                                "description": "Distinct approvals needed before the "
                                "rollback starts (the procedures ask two senior approvers for "
                                "a critical change); each is recorded with who and when.",
                            },
                        },
                    },
                ],
            },
            **phase_props,
        },
        "$defs": {"step": step_schema(), "http_request": ACTIONS["http"].schema},
    }


_PHASE_DOCS = {
    "prepare": "Bring the component to its known-good baseline.",
    "deploy": "The change under test. A failure here starts the rollback.",
    "inject": "Faults to inject (each is reverted, always).",
    "rollback": "Undo the change, or `auto` to restore what deploy actions recorded.",
    "verify": (
        "Prove the service is back: health, version, data. A rollback no verify step checked "
        "fails the drill, unless every availability probe saw the service healthy after it."
    ),
    "cleanup": "Always runs, even after a failure or Ctrl-C.",
}
