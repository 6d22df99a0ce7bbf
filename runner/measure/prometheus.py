"""Asking the team's monitoring: PromQL instant queries judged against an expectation, and
whether a named alert fires in Prometheus or Alertmanager.

Every call is bounded by its timeout. A question the server could not answer (refused,
timed out, an error status, error JSON, a shape we do not know) raises `Unanswered`: the
caller records an unknown verdict, never a healthy one and never a failure of the service.
"""

from __future__ import annotations

import json
import math
import operator
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.actions.http import request
from runner.measure.specs import PromExpect
from runner.urls import without_credentials

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_SHOWN_SERIES = 3  # series named in a verdict's detail


class Unanswered(Exception):
    """The server gave no usable answer; the message says why (no credentials in it)."""


@dataclass(frozen=True)
class Judgement:
    """A query's verdict: True healthy, False unhealthy, None unknown (no data, with
    `no_data: unknown`); `detail` says what was seen."""

    ok: bool | None
    detail: str


def _api_get(base: str, path: str, params: dict[str, str], timeout: float) -> Any:
    """GET `base + path`, the JSON body; `Unanswered` for anything but a JSON answer with
    a success status."""
    url = base.rstrip("/") + path + ("?" + urllib.parse.urlencode(params) if params else "")
    shown = without_credentials(base.rstrip("/")) + path
    resp = request(url, timeout=timeout)
    if resp.error:
        raise Unanswered(f"{shown}: {resp.error}")
    try:
        body = json.loads(resp.body)
    except ValueError:
        raise Unanswered(f"{shown}: status {resp.status}, not JSON") from None
    if resp.status is None or not 200 <= resp.status < 300:
        why = body.get("error", "") if isinstance(body, dict) else ""
        raise Unanswered(f"{shown}: status {resp.status}" + (f": {why}" if why else ""))
    return body


def _prometheus_data(body: Any, shown: str) -> Any:
    """The `data` of Prometheus' envelope `{status: success, data: …}`."""
    if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
        why = body.get("error", "") if isinstance(body, dict) else ""
        raise Unanswered(f"{shown}: no success in the answer" + (f": {why}" if why else ""))
    return body["data"]


def instant_query(url: str, query: str, timeout: float) -> tuple[str, Any]:
    """(resultType, result) of `query` evaluated now by the Prometheus at `url`."""
    # Prometheus' own evaluation limit, so a slow query ends there rather than here.
    params = {"query": query, "timeout": f"{max(1, int(timeout * 1000))}ms"}
    body = _api_get(url, "/api/v1/query", params, timeout)
    data = _prometheus_data(body, without_credentials(url))
    if not isinstance(data, dict) or not isinstance(data.get("resultType"), str):
        raise Unanswered("the query answer has no resultType")
    return data["resultType"], data.get("result")


def _number(value: Any) -> float:
    """A sample value as Prometheus writes it: `[time, "1.5"]` ("NaN", "+Inf" included)."""
    if not isinstance(value, list) or len(value) != 2:
        raise Unanswered(f"a sample value is not [time, value]: {str(value)[:80]}")
    try:
        return float(value[1])
    except (TypeError, ValueError):
        raise Unanswered(f"a sample value is not a number: {str(value[1])[:80]}") from None


def _labels(metric: Any) -> str:
    if not isinstance(metric, dict) or not metric:
        return "{}"
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def judge(result_type: str, result: Any, expect: PromExpect) -> Judgement:
    """Every series (or any one) compared with the threshold; NaN satisfies no comparator."""
    if result_type == "scalar":
        series = [("scalar", _number(result))]
    elif result_type == "vector" and isinstance(result, list):
        series = []
        for item in result:
            if not isinstance(item, dict):
                raise Unanswered(f"a series is not an object: {str(item)[:80]}")
            series.append((_labels(item.get("metric")), _number(item.get("value"))))
    else:
        # A range vector or a string cannot be compared with a threshold: the query is not
        # one a probe can judge, and no verdict is drawn from it.
        raise Unanswered(f"the query returned a {result_type}, not an instant vector or scalar")
    if not series:
        if expect.no_data == "unknown":
            return Judgement(None, "no data: the query returned no series")
        return Judgement(False, "no data: the query returned no series")
    compare = _COMPARE[expect.op]
    verdicts = [(name, v, not math.isnan(v) and compare(v, expect.value)) for name, v in series]
    good = [(name, v) for name, v, fine in verdicts if fine]
    bad = [(name, v) for name, v, fine in verdicts if not fine]
    ok = bool(good) if expect.match == "any" else not bad
    shown = bad if bad else good
    sample = ", ".join(f"{name} {v:g}" for name, v in shown[:_SHOWN_SERIES])
    more = f" (+{len(shown) - _SHOWN_SERIES} more)" if len(shown) > _SHOWN_SERIES else ""
    if ok:
        return Judgement(True, "")
    return Judgement(False, f"expected {expect.describe()}: {sample}{more}")


@dataclass(frozen=True)
class AlertState:
    """Whether the alert fires now; `detail` names the firing instances' labels."""

    firing: bool
    detail: str


def alert_state(source: str, url: str, alert: str, timeout: float) -> AlertState:
    """Ask Prometheus (`/api/v1/alerts`, state `firing`; `pending` is not firing yet) or
    Alertmanager (`/api/v2/alerts`, state `active`) whether `alert` fires."""
    shown = without_credentials(url)
    if source == "prometheus":
        data = _prometheus_data(_api_get(url, "/api/v1/alerts", {}, timeout), shown)
        alerts = data.get("alerts") if isinstance(data, dict) else None
        state_of: Callable[[dict[str, Any]], Any] = lambda a: a.get("state")  # noqa: E731
        firing_state = "firing"
    else:
        params = {"active": "true", "silenced": "false", "inhibited": "false"}
        alerts = _api_get(url, "/api/v2/alerts", params, timeout)
        state_of = lambda a: (a.get("status") or {}).get("state")  # noqa: E731
        firing_state = "active"
    if not isinstance(alerts, list):
        raise Unanswered(f"{shown}: the alerts answer is not a list of alerts")
    firing = [
        a
        for a in alerts
        if isinstance(a, dict)
        and isinstance(a.get("labels"), dict)
        and a["labels"].get("alertname") == alert
        and state_of(a) == firing_state
    ]
    if not firing:
        return AlertState(False, "")
    labels = ", ".join(_labels(a["labels"]) for a in firing[:_SHOWN_SERIES])
    return AlertState(True, f"alert {alert} firing in {source}: {labels}")
