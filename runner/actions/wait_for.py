"""`wait_for`: poll a port, a URL or a command until it is in the wanted state, or a deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Any

from runner.actions.base import (
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
)
from runner.actions.http import HTTP_PROPERTIES, UNTELLING, check_response, plan_http, send
from runner.connections.base import CommandSpec
from runner.durations import DURATION_SCHEMA, parse_duration
from runner.inventory.model import Host


def port_state(host: str, port: int, timeout: float) -> tuple[bool | None, str]:
    """(True: accepts connections, False: refuses or does not answer, None: cannot tell)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, ""
    except socket.gaierror as exc:  # a name that does not resolve says nothing about the port
        return None, f"cannot resolve {host}: {exc}"
    except OSError as exc:
        return False, str(exc)


class WaitForAction(Action):
    name = "wait_for"
    description = "Wait until a port, URL or command reaches a state, within a deadline."
    schema = {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "host": {"type": "string", "description": "Address for `port` (default: the host's)."},
            "http": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "properties": HTTP_PROPERTIES,
                        "required": ["url"],
                        "additionalProperties": False,
                    },
                ],
                "description": "URL (or request) that must answer as expected.",
            },
            "command": {"type": "string", "description": "Shell command that must exit 0."},
            "state": {
                "enum": ["started", "stopped"],
                "default": "started",
                "description": "`stopped` waits for the port to refuse connections, the URL to "
                "fail its checks, or the command to exit non-zero. A probe that cannot run (a "
                "name that does not resolve, a command not found or hung) proves neither.",
            },
            "timeout": {**DURATION_SCHEMA, "default": "30s", "description": "Deadline."},
            "interval": {**DURATION_SCHEMA, "default": "250ms", "description": "Poll interval."},
        },
        "examples": [
            {"port": 8080, "timeout": "10s"},
            {"http": "http://{{ host.address }}/health"},
        ],
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        kinds = [k for k in ("port", "http", "command") if k in args]
        if len(kinds) != 1:
            raise ActionArgError("wait_for needs exactly one of `port`, `http` or `command`")
        kind = kinds[0]
        try:
            deadline = parse_duration(args.get("timeout", "30s"))
            interval = parse_duration(args.get("interval", "250ms"))
        except ValueError as exc:
            raise ActionArgError(str(exc)) from None
        params: dict[str, Any] = {
            "kind": kind,
            "state": args.get("state", "started"),
            "deadline": deadline,
            "interval": max(interval, 0.01),
        }
        if kind == "port":
            params["host"] = str(args.get("host") or host.address)
            params["port"] = int(args["port"])
            target = f"{params['host']}:{params['port']}"
        elif kind == "http":
            spec = args["http"]
            params["request"] = plan_http({"url": spec} if isinstance(spec, str) else spec)
            target = params["request"]["url"]
        else:
            params["command"] = str(args["command"])
            target = params["command"]
        summary = f"{kind} {target} {params['state']} within {deadline:g}s"
        return PlannedAction(self.name, summary, params=params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p = planned.params
        started = time.monotonic()
        deadline = started + p["deadline"]
        if ctx.timeout is not None:
            deadline = min(deadline, started + ctx.timeout)
        want = p["state"] == "started"
        attempts = 0
        last = ""
        while True:
            attempts += 1
            up, last = self._probe(p, ctx, max(0.05, deadline - time.monotonic()))
            if ctx.cancel.cancelled:  # a probe cut short by the interrupt proves nothing
                return ActionOutcome(False, "interrupted", cancelled=True)
            if up is not None and up == want:
                elapsed = time.monotonic() - started
                return ActionOutcome(
                    True,
                    f"{p['state']} after {elapsed:.2f}s",
                    data={"elapsed": elapsed, "attempts": attempts},
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if ctx.cancel.wait(min(p["interval"], remaining)):
                return ActionOutcome(False, "interrupted", cancelled=True)
        elapsed = time.monotonic() - started
        detail = f" (last: {last})" if last else ""
        return ActionOutcome(
            False,
            f"not {p['state']} within {elapsed:.1f}s{detail}",
            data={"elapsed": elapsed, "attempts": attempts},
            timed_out=True,
        )

    def _probe(
        self, p: Mapping[str, Any], ctx: ActionContext, budget: float
    ) -> tuple[bool | None, str]:
        """(up, why not): None when the probe itself failed and says nothing either way."""
        if p["kind"] == "port":
            return port_state(p["host"], p["port"], min(1.0, budget))
        if p["kind"] == "http":
            resp = send(p["request"], min(budget, p["request"]["timeout"]))
            if resp.error and resp.error_kind in UNTELLING:
                return None, f"request failed: {resp.error}"
            problem = check_response(resp, p["request"])
            return not problem, problem
        result = self.connection(ctx).run(
            CommandSpec(shell=p["command"]), timeout=min(budget, 30.0), cancel=ctx.cancel
        )
        if result.timed_out:
            return None, f"the command did not finish within {min(budget, 30.0):.1f}s"
        if result.rc in (126, 127):  # not found / not executable: the check never ran
            err = result.stderr.strip().splitlines()
            return None, f"exit code {result.rc}" + (f": {err[-1]}" if err else "")
        return result.rc == 0, f"exit code {result.rc}" if result.rc else ""
