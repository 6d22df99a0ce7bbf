"""The playbook JSON Schema (draft 2020-12), assembled from the action registry.

Built in code so that an action's argument schema lives beside the action; the
committed copy in docs/schema/ is checked against this by a test.
"""

from __future__ import annotations

from typing import Any

from runner.actions import ACTIONS
from runner.actions.base import DURATION_SCHEMA
from runner.measure.specs import (
    ALERT_SOURCES,
    COMPARATORS,
    DEFAULT_ALERT_EVERY_S,
    DEFAULT_ALERT_TIMEOUT_S,
    DEFAULT_CHECK_TIMEOUT_S,
    DEFAULT_EVERY_S,
    DEFAULT_HEALTHY_AFTER,
    DEFAULT_LATENCY_ABOVE_S,
    DEFAULT_MEASURE_FROM,
    DEFAULT_NO_DATA,
    DEFAULT_READ_DEADLINE_S,
    DEFAULT_READ_TIMEOUT_S,
    DEFAULT_TRIGGER_WINDOW_S,
    DEFAULT_WRITE_TIMEOUT_S,
    MIN_EVERY_S,
    NO_DATA,
    SERIES_MATCH,
    ReadFormat,
)
from runner.notify.plan import SCHEMA as NOTIFY_SCHEMA
from runner.playbook.checklists import CHECKLISTS_SCHEMA

PHASES = ("prepare", "deploy", "inject", "rollback", "verify", "cleanup")
SCHEMA_ID = "https://drillctl.dev/schema/playbook.schema.json"
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
        "description": "Save the result (rc, stdout, status, json, …) in this variable.",
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


def _steps() -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": "#/$defs/step"}}


def _seconds(value: float) -> str:
    """A default duration as the docs show it: 1s, 30s (the constants are in seconds)."""
    return f"{value:g}s"


def _data_call(
    purpose: str, timeout_default: str, shell_example: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """A data probe's write or read-back: `shell` on the host or `http` from the controller."""
    return {
        "type": "object",
        "description": f"{purpose}: exactly one of `shell` (on the probe's host) or `http` "
        "(from the controller).",
        "additionalProperties": False,
        "properties": {
            "shell": {
                "type": "string",
                "description": "A shell command on the probe's host.",
                "examples": [shell_example],
            },
            "http": {
                "$ref": "#/$defs/http_request",
                "description": "An HTTP request from the controller, with the arguments of "
                "the `http` action.",
                "examples": [{"url": "http://{{ host.address }}:8080/ledger"}],
            },
            "timeout": {
                **DURATION_SCHEMA,
                "default": timeout_default,
                "description": "Longest one call may take (for `http`, also `http.timeout`); "
                "a slower call has failed.",
                "examples": [timeout_default],
            },
            **extra,
        },
    }


_READ_OPTIONS: dict[str, Any] = {
    "format": {
        "enum": ["lines", "json"],
        "default": ReadFormat().kind,
        "examples": ["json"],
        "description": "How the output lists the sequence numbers present: `lines`, one "
        "integer per line; `json`, a JSON array of integers (or an object whose `seqs` is "
        "one). Anything else fails the read, naming the line.",
    },
    "pattern": {
        "type": "string",
        "description": "Instead of `format`: a regular expression with one group, searched "
        "in every non-blank line; the group is the sequence number.",
        "examples": ["seq:(\\d+)$"],
    },
    "deadline": {
        **DURATION_SCHEMA,
        "default": _seconds(DEFAULT_READ_DEADLINE_S),
        "examples": ["2m"],
        "description": "A failed read (error, timeout, unparsable output) is retried until "
        "this long after the first attempt; then data loss and RPO are not measured.",
    },
}

PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A background probe: availability (http, tcp, command, prometheus) or "
    "data (RPO).",
    "additionalProperties": False,
    "properties": {
        "http": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url"],
            "properties": {
                "url": {"type": "string"},
                "status": {
                    "oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]
                },
                "contains": {"type": "string"},
                "json_match": {},
                "timeout": DURATION_SCHEMA,
            },
        },
        "tcp": {
            "type": "object",
            "additionalProperties": False,
            "required": ["port"],
            "properties": {"host": {"type": "string"}, "port": {"type": ["integer", "string"]}},
        },
        "command": {"type": "string", "description": "Healthy when it exits 0."},
        "prometheus": {
            "type": "object",
            "additionalProperties": False,
            "required": ["url", "query", "expect"],
            "description": "Availability judged by your monitoring: a PromQL instant query "
            "(`/api/v1/query`) at each interval, its result compared with `expect`. A query "
            "that cannot reach Prometheus (refused, timed out, an error status or error JSON) "
            "is an unknown sample: neither downtime nor healthy.",
            "properties": {
                "url": {
                    "type": "string",
                    "description": "Prometheus' base URL (templated per host).",
                    "examples": ["http://127.0.0.1:9090"],
                },
                "query": {
                    "type": "string",
                    "minLength": 1,
                    "description": "The PromQL expression, evaluated at each sample's time.",
                    "examples": ['lab_up{job="lab"}'],
                },
                "expect": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["op", "value"],
                    "description": "Healthy when every series' value (or any one's, "
                    "`match: any`) compares with `value` by `op`; a scalar result is one "
                    "series.",
                    "properties": {
                        "op": {"enum": list(COMPARATORS)},
                        "value": {"type": "number"},
                        "match": {"enum": list(SERIES_MATCH), "default": "all"},
                    },
                },
                "no_data": {
                    "enum": list(NO_DATA),
                    "default": DEFAULT_NO_DATA,
                    "description": "What a result with no series is: unhealthy (the series "
                    "a healthy service reports is gone) or unknown (no verdict).",
                },
                "timeout": DURATION_SCHEMA,
            },
        },
        "data": {
            "type": "object",
            "additionalProperties": False,
            "required": ["write", "read"],
            "properties": {
                "write": _data_call(
                    "One numbered write (`{{ seq }}`)",
                    _seconds(DEFAULT_WRITE_TIMEOUT_S),
                    "psql -Atc 'insert into drill_ledger values ({{ seq }})'",
                    {},
                ),
                "read": _data_call(
                    "The read-back, after verify: prints the sequence numbers present",
                    _seconds(DEFAULT_READ_TIMEOUT_S),
                    "psql -Atc 'select seq from drill_ledger'",
                    _READ_OPTIONS,
                ),
            },
            "description": "Numbered writes (`{{ seq }}`) and a read-back of those present.",
        },
        "every": {
            **DURATION_SCHEMA,
            "default": _seconds(DEFAULT_EVERY_S),
            "description": f"Sampling interval, at least {MIN_EVERY_S * 1000:g}ms.",
        },
        "timeout": {
            **DURATION_SCHEMA,
            "default": _seconds(DEFAULT_CHECK_TIMEOUT_S),
            "examples": ["500ms"],
            "description": "Longest one availability check may take (for `http`, also "
            "`http.timeout`; for `prometheus`, also `prometheus.timeout`); a slower check has "
            "failed (a slower Prometheus query is unknown).",
        },
        "hosts": {"type": "string", "description": "Run the probe per host of this pattern."},
        "healthy_after": {"type": "integer", "minimum": 1, "default": DEFAULT_HEALTHY_AFTER},
    },
}

TRIGGER_SCHEMA: dict[str, Any] = {
    "description": "A condition that decides an automatic rollback.",
    "oneOf": [
        {"const": "step_failed", "description": "Any failed step in deploy, inject or verify."},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["probe"],
            "properties": {
                "probe": {"type": "string"},
                "consecutive_failures": {"type": "integer", "minimum": 1},
                "error_rate": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "latency_p": {"type": "number", "minimum": 0, "maximum": 100},
                "above": {**DURATION_SCHEMA, "default": _seconds(DEFAULT_LATENCY_ABOVE_S)},
                "window": {**DURATION_SCHEMA, "default": _seconds(DEFAULT_TRIGGER_WINDOW_S)},
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["alert"],
            "description": "Fires when the named alert is firing in Prometheus "
            "(`/api/v1/alerts`, state firing) or Alertmanager (`/api/v2/alerts`, active), "
            "polled every `every`. A source that cannot be reached never fires; each change "
            "of state is journaled.",
            "properties": {
                "alert": {
                    "type": "string",
                    "minLength": 1,
                    "description": "The alert's name (its `alertname` label).",
                },
                **{
                    source: {
                        "type": "string",
                        "description": f"Base URL of the {source.title()} that evaluates "
                        "the alert (templated with the playbook's variables).",
                    }
                    for source in ALERT_SOURCES
                },
                "every": {**DURATION_SCHEMA, "default": _seconds(DEFAULT_ALERT_EVERY_S)},
                "timeout": {**DURATION_SCHEMA, "default": _seconds(DEFAULT_ALERT_TIMEOUT_S)},
            },
        },
    ],
}


def playbook_schema() -> dict[str, Any]:
    """The full playbook schema, ready for `jsonschema` or an editor."""
    phase_props: dict[str, Any] = {p: {**_steps(), "description": _PHASE_DOCS[p]} for p in PHASES}
    phase_props["rollback"] = {
        "description": _PHASE_DOCS["rollback"],
        "oneOf": [_steps(), {"const": "auto"}],
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
                "before the step counts as failed; failed hosts drop out of the change.",
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
    "verify": "Prove the service is back: health, version, data.",
    "cleanup": "Always runs, even after a failure or Ctrl-C.",
}
