"""Push one run's figures to a Prometheus Pushgateway, for dashboards and alert rules.

Gauges named `drillctl_run_*` (listed in docs/monitoring.md), grouped by job `drillctl`,
drill, component and environment, so each push replaces that drill's previous figures.
A figure that was not measured is not pushed at all (never a 0 that a dashboard would read
as "no downtime"); an objective that was not judged is left out the same way.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runner.secrets import SecretMask
from runner.urls import without_credentials

FIGURES = {
    "time_to_detect_s": ("time_to_detect_seconds", "T0 to the first trigger."),
    "time_to_decide_s": ("time_to_decide_seconds", "Detection to the start of the rollback."),
    "time_to_rollback_s": ("time_to_rollback_seconds", "Duration of the rollback phase."),
    "rto_s": ("rto_seconds", "Measured RTO: T0 to sustained recovery."),
    "downtime_s": ("downtime_seconds", "Time the availability probe was unhealthy."),
    "rpo_s": ("rpo_seconds", "Measured RPO."),
    "lost_writes": ("lost_writes", "Acknowledged writes missing from the read-back."),
}
VERDICT_VALUES = {"met": 1.0, "missed": 0.0}


class PushError(Exception):
    """The Pushgateway could not be reached or refused the push."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def push_run(result: Mapping[str, Any], gateway: str, timeout_s: float = 5.0) -> None:
    """Push `result` (a result.json document) to `gateway`; PushError when that fails."""
    try:
        import prometheus_client as prom
    except ImportError:
        raise PushError(
            "pushing metrics needs prometheus-client: pip install 'drillctl[prometheus]'"
        ) from None
    registry = prom.CollectorRegistry()

    def gauge(name: str, doc: str, value: float, **labels: str) -> None:
        metric = prom.Gauge(f"drillctl_run_{name}", doc, list(labels), registry=registry)
        (metric.labels(**labels) if labels else metric).set(value)

    status = str(result.get("status") or "unknown")
    gauge("passed", "1 when the run passed, else 0.", 1.0 if status == "passed" else 0.0)
    gauge("status", "1 for the run's final status.", 1.0, status=status)
    ended = _timestamp(result.get("ended_at"))
    if ended is not None:
        gauge("end_timestamp_seconds", "When the run ended (Unix time).", ended)
    duration = _number(result.get("duration_s"))
    if duration is not None:
        gauge("duration_seconds", "The whole run.", duration)
    measured = result.get("measured") or {}
    for key, (name, doc) in FIGURES.items():
        value = _number(measured.get(key))
        if value is not None:
            gauge(name, doc, value)
    verdicts = result.get("verdicts") or {}
    met = prom.Gauge(
        "drillctl_run_objective_met",
        "1 when the objective was met, 0 when missed; absent when not judged.",
        ["objective"],
        registry=registry,
    )
    for objective in ("rto", "rpo", "budget"):
        value = VERDICT_VALUES.get(str(verdicts.get(objective)))
        if value is not None:
            met.labels(objective=objective).set(value)
    grouping = {
        "drill": str(result.get("drill") or ""),
        "component": str(result.get("component") or ""),
        "environment": str(result.get("environment") or ""),
    }
    try:
        prom.push_to_gateway(
            gateway, job="drillctl", registry=registry, grouping_key=grouping, timeout=timeout_s
        )
    except Exception as exc:  # the gateway's failure is the caller's to report, never a crash
        # The gateway's URL may carry a password, and the error may quote the URL.
        mask = SecretMask(_passwords(gateway))
        where = without_credentials(gateway)
        raise PushError(mask.mask(f"could not push to {where}: {exc}")) from None


def _passwords(url: str) -> list[str]:
    """The password of `user:password@` in `url`, as written and as decoded, if any."""
    _, sep, rest = url.partition("://")
    head = rest.split("?", 1)[0].split("#", 1)[0]
    if not sep or "@" not in head:
        return []
    _, colon, password = head[: head.rindex("@")].partition(":")
    return [password, urllib.parse.unquote(password)] if colon and password else []


def _timestamp(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
