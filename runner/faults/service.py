"""`service.stop`: stop a service (systemd by `name`, or your own commands); revert starts it.

Revert starts the service only if inject found it running and recorded that (in a state file
written before the stop): a service that was already down before the drill stays down.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from runner.durations import DURATION_SCHEMA
from runner.faults.base import Fault, FaultArgError, FaultContext, FaultPlan
from runner.faults.scripts import (
    DURATION_PROPERTY,
    MAX_FAULT_S,
    MAX_WAIT_S,
    bounded_wait,
    seconds,
    shell_op,
    state_file,
)
from runner.inventory.model import Host

_COMMAND = {"type": "string", "minLength": 1}


def _commands(args: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(what, {stop, start, status}) from `name` or from the three explicit commands."""
    explicit = [k for k in ("stop", "start", "status") if k in args]
    if "name" in args:
        if explicit:
            raise FaultArgError("give either `name` (systemd) or `stop`/`start`/`status`")
        name = args["name"]
        if not isinstance(name, str) or not name:
            raise FaultArgError("`name` must be a systemd unit name")
        unit = shlex.quote(name)
        return f"systemd unit {name}", {
            "stop": f"systemctl stop -- {unit}",
            "start": f"systemctl start -- {unit}",
            "status": f"systemctl is-active --quiet -- {unit}",
        }
    if len(explicit) != 3:
        raise FaultArgError("give `name` (systemd), or all of `stop`, `start` and `status`")
    commands = {k: args[k] for k in explicit}
    for key, value in commands.items():
        if not isinstance(value, str) or not value.strip():
            raise FaultArgError(f"`{key}` must be a shell command")
    return f"service ({commands['status']})", commands


class ServiceStop(Fault):
    kind = "service.stop"
    description = (
        "Stop a service (systemd `name`, or stop/start/status commands); revert starts it."
    )
    schema = {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "description": "systemd unit: `systemctl stop`/`start`, `is-active` as status.",
                "examples": ["order-gateway.service"],
            },
            "stop": {**_COMMAND, "description": "Shell command that stops the service."},
            "start": {
                **_COMMAND,
                "description": "Shell command that starts it; must return once started.",
            },
            "status": {**_COMMAND, "description": "Shell command: exit 0 while it runs."},
            "timeout": {
                **DURATION_SCHEMA,
                "default": "30s",
                "description": "Time for status to change after stop or start (≤ 50s).",
            },
            "duration": DURATION_PROPERTY,
        },
        "oneOf": [{"required": ["name"]}, {"required": ["stop", "start", "status"]}],
        "examples": [
            {"name": "nginx"},
            {
                "stop": "/opt/gw/bin/gw stop",
                "start": "/opt/gw/bin/gw start",
                "status": "/opt/gw/bin/gw status",
            },
        ],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        what, commands = _commands(args)
        timeout = seconds(args, "timeout", "30s", MAX_WAIT_S)
        start_wait, wait_over = bounded_wait(timeout)
        duration = seconds(args, "duration", "0", MAX_FAULT_S) if "duration" in args else None
        state = state_file(ctx, "stopped")
        values = {**commands, "what": what, "state": state, "log": state + ".log"}
        # Commands run with output to a file: a daemon `start` launches must not hold this
        # operation's pipes open (the operation would only end at its timeout).
        run = 'run() { sh -c "$1" </dev/null >"$log" 2>&1; }'
        inject = f"""{run}
mkdir -p /tmp
sh -c "$status" </dev/null >/dev/null 2>&1 || fail "$what is not running: nothing to stop"
: >"$state" || fail "cannot write $state"
run "$stop" || fail "stop failed (rc $?): $(cat "$log")"
{start_wait}
while sh -c "$status" </dev/null >/dev/null 2>&1; do
  {wait_over} && fail "$what still running after stop"
  nap 0.1; i=$((i+1))
done
rm -f "$log"; echo "stopped $what"
"""
        revert = f"""{run}
[ -f "$state" ] || {{ echo "nothing to start: inject stopped nothing"; exit 0; }}
if ! sh -c "$status" </dev/null >/dev/null 2>&1; then
  run "$start" || fail "start failed (rc $?): $(cat "$log")"
  {start_wait}
  until sh -c "$status" </dev/null >/dev/null 2>&1; do
    {wait_over} && fail "$what not running after start: $(cat "$log")"
    nap 0.1; i=$((i+1))
  done
fi
rm -f "$state" "$log"; echo "$what is running"
"""
        check = '! sh -c "$status" </dev/null >/dev/null 2>&1'
        precheck = None
        if "name" in args:
            precheck = shell_op(
                self.kind,
                "precheck",
                ctx,
                'need systemctl; [ -d /run/systemd/system ] || fail "systemd is not running"\n'
                f"systemctl cat -- {shlex.quote(args['name'])} >/dev/null 2>&1 || "
                f"fail {shlex.quote('no systemd unit ' + args['name'])}",
            )
        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=f"stop {what}",
            inject=(shell_op(self.kind, "inject", ctx, inject, **values),),
            revert=(shell_op(self.kind, "revert", ctx, revert, **values),),
            check=shell_op(self.kind, "check", ctx, check, status=commands["status"]),
            precheck=precheck,
            precheck_error=(
                f"service.stop by `name` needs systemd on {host.name} and the unit to exist"
                if precheck
                else ""
            ),
            duration_s=duration,
            manual=commands["start"],
            settle_s=timeout + 1.0,
        )


SERVICE_FAULTS: tuple[Fault, ...] = (ServiceStop(),)
