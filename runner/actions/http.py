"""`http`: a request from the controller, with assertions on status, body and JSON."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.actions.base import (
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
)
from runner.durations import DURATION_SCHEMA, parse_duration
from runner.inventory.model import Host
from runner.urls import request_target, url_problem, without_credentials

MAX_BODY = 64 * 1024


# Request failures that say nothing about whether the service is up: the name does not
# resolve, or the URL is malformed. (A refused or timed-out connection does say: it is down.)
UNTELLING = frozenset({"dns", "invalid"})


@dataclass(frozen=True)
class HttpResponse:
    status: int | None
    body: str
    elapsed_s: float
    error: str = ""
    error_kind: str = ""  # "dns", "invalid", "network" when error is set

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def request(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
) -> HttpResponse:
    """One HTTP request; network errors, and a URL that cannot be requested, come back as a
    response with `error` set."""
    # Here, not at module level: urllib.request brings http.client, email and ssl, tens of
    # milliseconds that every `drillctl` start (lint, a drill without HTTP steps) would pay.
    import http.client
    import urllib.error
    import urllib.request

    started = time.monotonic()
    problem = url_problem(url)
    if problem:
        return HttpResponse(None, "", 0.0, f"{without_credentials(url)} {problem}")
    target = request_target(url)  # user:password@ becomes a Basic Authorization header
    headers = dict(headers or {})
    if target.authorization and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = target.authorization
    try:
        req = urllib.request.Request(target.url, data=body, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = resp.read(MAX_BODY)
            return HttpResponse(
                resp.status, data.decode("utf-8", "replace"), time.monotonic() - started
            )
    except urllib.error.HTTPError as exc:
        data = exc.read(MAX_BODY) if exc.fp else b""
        return HttpResponse(exc.code, data.decode("utf-8", "replace"), time.monotonic() - started)
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        kind = (
            "dns"
            if isinstance(reason, socket.gaierror)
            else "invalid"
            if isinstance(exc, ValueError)
            else "network"
        )
        return HttpResponse(None, "", time.monotonic() - started, str(reason), kind)


def json_subset(expected: Any, actual: Any) -> bool:
    """True when every key/value in `expected` is present in `actual` (recursively)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and json_subset(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return bool(expected == actual)
    return bool(expected == actual) or (
        isinstance(actual, (int, float)) and isinstance(expected, str) and str(actual) == expected
    )


def check_response(resp: HttpResponse, params: Mapping[str, Any]) -> str:
    """Empty string if the response meets the expectations, else what is wrong."""
    if resp.error:
        return f"request failed: {resp.error}"
    wanted = params["status"]
    if resp.status not in wanted:
        return f"status {resp.status}, expected {' or '.join(str(s) for s in wanted)}"
    contains = params.get("contains")
    if contains is not None and str(contains) not in resp.body:
        return f"response body does not contain {contains!r}"
    expected_json = params.get("json_match")
    if expected_json is not None and not json_subset(expected_json, resp.json()):
        return f"response JSON does not match {json.dumps(expected_json, sort_keys=True)}"
    return ""


HTTP_PROPERTIES: dict[str, Any] = {
    "url": {"type": "string", "description": "URL to request (templated)."},
    "method": {"type": "string", "default": "GET", "description": "HTTP method."},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "body": {"type": "string", "description": "Request body as text."},
    "json": {"description": "Request body as JSON (sets Content-Type)."},
    "status": {
        "description": "Expected status code(s).",
        "default": 200,
        "oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}],
    },
    "contains": {"type": "string", "description": "Text the response body must contain."},
    "json_match": {"description": "Subset the response JSON must contain."},
    "timeout": {**DURATION_SCHEMA, "description": "Request timeout.", "default": "10s"},
}


def plan_http(args: Mapping[str, Any]) -> dict[str, Any]:
    """Normalised request parameters (shared by `http` and `wait_for: {http: …}`)."""
    url = str(args.get("url", ""))
    problem = url_problem(url)
    if problem:
        raise ActionArgError(f"url {without_credentials(url)!r} {problem}")
    status = args.get("status", 200)
    headers = {str(k): str(v) for k, v in (args.get("headers") or {}).items()}
    body: str | None = args.get("body")
    if "json" in args:
        body = json.dumps(args["json"])
        headers.setdefault("Content-Type", "application/json")
    try:
        timeout = parse_duration(args.get("timeout", "10s"))
    except ValueError as exc:
        raise ActionArgError(str(exc)) from None
    return {
        "url": url,
        "method": str(args.get("method", "POST" if body is not None else "GET")).upper(),
        "headers": headers,
        "body": body,
        "status": tuple(status) if isinstance(status, list) else (int(status),),
        "contains": args.get("contains"),
        "json_match": args.get("json_match"),
        "timeout": timeout,
    }


def send(params: Mapping[str, Any], timeout: float | None = None) -> HttpResponse:
    body = params["body"].encode() if params["body"] is not None else None
    limit = params["timeout"] if timeout is None else min(timeout, params["timeout"])
    return request(
        params["url"], method=params["method"], headers=params["headers"], body=body, timeout=limit
    )


class HttpAction(Action):
    name = "http"
    description = "Send an HTTP request from the controller and check the answer."
    controller_side = True
    schema = {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": HTTP_PROPERTIES,
        "examples": [
            {"url": "http://{{ host.address }}:8080/health", "json_match": {"status": "ok"}}
        ],
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        params = plan_http(args)
        return PlannedAction(self.name, f"{params['method']} {params['url']}", params=params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        resp = send(planned.params, ctx.timeout)
        problem = check_response(resp, planned.params)
        data = {"status": resp.status, "json": resp.json(), "elapsed": resp.elapsed_s}
        return ActionOutcome(
            ok=not problem,
            msg=problem or f"status {resp.status}",
            stdout=resp.body,
            data=data,
        )
