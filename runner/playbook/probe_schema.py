"""The schemas of probes (availability and data) and of rollback triggers.

Every default a drill author reads here is the constant the probe and trigger specs use,
so the documented default cannot drift from the measured behaviour.
"""

from __future__ import annotations

from typing import Any

from runner.durations import DURATION_SCHEMA
from runner.measure.specs import (
    ALERT_SOURCES,
    COMPARATORS,
    DEFAULT_ALERT_EVERY_S,
    DEFAULT_ALERT_TIMEOUT_S,
    DEFAULT_CHECK_TIMEOUT_S,
    DEFAULT_EVERY_S,
    DEFAULT_HEALTHY_AFTER,
    DEFAULT_LATENCY_ABOVE_S,
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
