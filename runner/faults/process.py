"""Process faults: `process.kill` (restarted on revert) and `process.pause` (SIGSTOP, SIGCONT),
and the selector they share (`name`, `pattern` or `pidfile`) that finds their victims.

Processes are found by scanning /proc, never with pgrep: busybox images often lack it, and
`pgrep -f` run from a script matches the script's own shell. The shell building blocks
(script header, state files, watchdogs) are in runner/faults/scripts.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.durations import DURATION_SCHEMA
from runner.faults.base import Fault, FaultArgError, FaultContext, FaultPlan
from runner.faults.scripts import (
    DURATION_PROPERTY,
    FAILSAFE_PROPERTIES,
    MAX_FAULT_S,
    MAX_WAIT_S,
    OP_MARK,
    bounded_wait,
    failsafe_s,
    seconds,
    shell_op,
    state_file,
    watchdog_call,
)
from runner.inventory.model import Host

SELECTOR_PROPERTIES: dict[str, Any] = {
    "name": {
        "type": "string",
        "minLength": 1,
        "maxLength": 15,
        "description": "Exact process name (`comm`, at most 15 characters, as `pgrep -x`).",
        "examples": ["nginx"],
    },
    "pattern": {
        "type": "string",
        "minLength": 1,
        "description": "Extended regex matched against the full command line (as `pgrep -f`); "
        "PID 1 and drillctl's own scripts never match.",
        "examples": ["java .*order-gateway"],
    },
    "pidfile": {
        "type": "string",
        "minLength": 1,
        "description": "File holding the process id.",
        "examples": ["/run/order-gateway.pid"],
    },
}
SELECTOR_ONE_OF = [{"required": [k]} for k in SELECTOR_PROPERTIES]

# Kernel threads and zombies have an empty command line; our own scripts carry OP_MARK; and
# PID 1 is never a victim (in a container its command line holds the whole service's).
_SKIP = f'case $c in ""|*{OP_MARK}*) continue;; esac'
_PROCS = {
    "name": r"""procs() {  # live processes named $name
  for d in /proc/[0-9]*; do
    n=; read -r n 2>/dev/null <"$d/comm"; [ "$n" = "$name" ] || continue
    case ${d#/proc/} in 1|$$) continue;; esac
    c=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline"); SKIP
    echo "${d#/proc/}"
  done
}""",
    "pattern": r"""procs() {  # live processes whose command line matches $pattern
  for d in /proc/[0-9]*; do
    case ${d#/proc/} in 1|$$) continue;; esac
    c=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline"); SKIP
    printf '%s\n' "${c% }" | grep -Eq -- "$pattern" && echo "${d#/proc/}"
  done
  return 0
}""",
    "pidfile": r"""procs() {  # the live process named by $pidfile
  p=; read -r p 2>/dev/null <"$pidfile"; case $p in ''|1|*[!0-9]*) return 0;; esac; live "$p"
}""",
}


def selector(args: Mapping[str, Any]) -> tuple[str, str, dict[str, str]]:
    """(what, a shell `procs` function listing matching pids, its variables)."""
    given = [k for k in SELECTOR_PROPERTIES if k in args]
    if len(given) != 1:
        raise FaultArgError("give exactly one of `name`, `pattern` or `pidfile`")
    key = given[0]
    value = args[key]
    if not isinstance(value, str) or not value:
        raise FaultArgError(f"`{key}` must be a non-empty string")
    if key == "name" and len(value) > 15:
        raise FaultArgError("`name` is the kernel's `comm`: at most 15 characters")
    procs = _PROCS[key].replace("SKIP", _SKIP)
    return f"{key} {value}", procs, {key: value}


SIGNALS = ("KILL", "TERM", "INT", "HUP", "QUIT", "ABRT", "SEGV", "USR1", "USR2")


class ProcessKill(Fault):
    kind = "process.kill"
    description = "Kill processes with a signal; revert runs `restart` unless they are back."
    schema = {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **SELECTOR_PROPERTIES,
            "signal": {"enum": list(SIGNALS), "default": "KILL", "description": "Signal sent."},
            "restart": {
                "type": "string",
                "minLength": 1,
                "description": "Shell command that starts the process again (a kill cannot be "
                "undone). It must return once started: background it or use a service manager.",
                "examples": ["systemctl start order-gateway"],
            },
            "wait": {**DURATION_SCHEMA, "default": "5s", "description": "Time to die (≤ 50s)."},
            "restart_wait": {
                **DURATION_SCHEMA,
                "default": "10s",
                "description": "Time for the restarted process to appear (≤ 50s).",
            },
            "duration": DURATION_PROPERTY,
        },
        "required": ["restart"],
        "oneOf": SELECTOR_ONE_OF,
        "examples": [
            {"name": "nginx", "restart": "systemctl start nginx"},
            {"pattern": "gateway\\.jar", "signal": "TERM", "restart": "/opt/gw/start.sh"},
        ],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        what, procs, values = selector(args)
        restart = args.get("restart")
        if not isinstance(restart, str) or not restart.strip():
            raise FaultArgError("process.kill needs `restart`: a kill cannot be undone otherwise")
        sig = str(args.get("signal", "KILL")).upper().removeprefix("SIG")
        if sig not in SIGNALS:
            raise FaultArgError(f"`signal` must be one of {', '.join(SIGNALS)}, got {sig!r}")
        wait = seconds(args, "wait", "5s", MAX_WAIT_S)
        restart_wait = seconds(args, "restart_wait", "10s", MAX_WAIT_S)
        duration = seconds(args, "duration", "0", MAX_FAULT_S) if "duration" in args else None
        state = state_file(ctx, "killed")
        values |= {"what": what, "state": state}
        start_wait, wait_over = bounded_wait(wait)
        start_restart_wait, restart_wait_over = bounded_wait(restart_wait)
        # The state file is written before the kill: revert restarts only what inject killed,
        # never a process that was already down before the drill.
        inject = f"""{procs}
pids=$(procs)
[ -n "$pids" ] || fail "no running process matches $what: nothing to kill"
mkdir -p /tmp; echo $pids >"$state" || fail "cannot write $state"
kill -s {sig} $pids 2>/dev/null
{start_wait}
while left=$(live $pids); [ -n "$left" ]; do
  {wait_over} && fail "sent SIG{sig} to $pids; $left alive after {wait:g}s"
  nap 0.1; i=$((i+1))
done
echo "killed $pids ($what) with SIG{sig}"
"""
        # A process given a graceful signal may take seconds to exit, even after the runner
        # that sent it died: wait for the pids inject recorded to go (within `wait`) before
        # judging whether anything runs, or a dying process passes for a running one.
        revert = f"""{procs}
[ -f "$state" ] || {{ echo "nothing to restart: none killed, or already restarted"; exit 0; }}
{start_wait}
while dying=$(live $(cat "$state")); [ -n "$dying" ] && ! {wait_over}; do
  nap 0.1; i=$((i+1))
done
if [ -n "$(procs)" ]; then
  echo "$what is running again"
else
  # Output to a file: a daemon the command starts must not hold this operation's pipes.
  sh -c "$restart" </dev/null >"$state.log" 2>&1
  rc=$?; [ "$rc" -eq 0 ] || fail "restart failed (rc $rc): $(cat "$state.log")"
  {start_restart_wait}
  until [ -n "$(procs)" ]; do
    {restart_wait_over} && fail "restart ran, yet nothing matches $what"
    nap 0.1; i=$((i+1))
  done
  echo "restarted: $what is running"
fi
rm -f "$state" "$state.log"
"""
        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=f"kill {what} with SIG{sig}",
            inject=(shell_op(self.kind, "inject", ctx, inject, **values),),
            revert=(shell_op(self.kind, "revert", ctx, revert, **values, restart=restart),),
            check=shell_op(self.kind, "check", ctx, f'{procs}\n[ -z "$(procs)" ]', **values),
            precheck=shell_op(self.kind, "precheck", ctx, "need kill tr grep sleep"),
            precheck_error=f"{self.kind} needs kill, tr, grep and sleep on {host.name}",
            duration_s=duration,
            manual=f"# only if no process matches {what} any more:\n{restart}",
            settle_s=max(wait, restart_wait) + 1.0,
        )


class ProcessPause(Fault):
    kind = "process.pause"
    description = "Freeze processes with SIGSTOP; revert sends SIGCONT to exactly those pids."
    schema = {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "properties": {**SELECTOR_PROPERTIES, **FAILSAFE_PROPERTIES},
        "oneOf": SELECTOR_ONE_OF,
        "examples": [{"name": "postgres", "duration": "30s"}, {"pidfile": "/run/gw.pid"}],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        what, procs, values = selector(args)
        duration, failsafe = failsafe_s(args)
        state = state_file(ctx, "paused")
        values |= {"what": what, "state": state}
        resume = 'kill -s CONT $(cat "$state" 2>/dev/null) 2>/dev/null; rm -f "$state"'
        # Pids are recorded and the watchdog started before SIGSTOP: a crash at any point
        # leaves nothing stopped that revert (or the watchdog) does not know of.
        inject = f"""{procs}
pids=$(procs)
[ -n "$pids" ] || fail "no running process matches $what: nothing to pause"
mkdir -p /tmp; echo $pids >"$state" || fail "cannot write $state"
{watchdog_call(self.kind, ctx, failsafe, resume, state=state)}
kill -s STOP $pids 2>/dev/null
i=0
for p in $pids; do
  until case $(pstate "$p") in T|'') true;; *) false;; esac; do
    [ "$i" -ge 50 ] && fail "process $p did not stop after SIGSTOP"
    nap 0.1; i=$((i+1))
  done
done
echo "paused $pids ($what)"
"""
        revert = f"""end_marked "DRILLCTL_WATCHDOG=$tok"
[ -f "$state" ] || {{ echo "nothing to resume"; exit 0; }}
{resume}
echo "resumed ($what)"
"""
        check = """[ -f "$state" ] || exit 1
n=0
for p in $(cat "$state"); do
  case $(pstate "$p") in T) n=$((n+1));; ''|Z|X|x) ;; *) exit 1;; esac
done
[ "$n" -gt 0 ]
"""
        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=f"pause {what}" + (f" for {duration:g}s" if duration else ""),
            inject=(shell_op(self.kind, "inject", ctx, inject, **values),),
            revert=(shell_op(self.kind, "revert", ctx, revert, **values),),
            check=shell_op(self.kind, "check", ctx, check, state=state),
            precheck=shell_op(self.kind, "precheck", ctx, "need kill tr grep sleep cat"),
            precheck_error=f"{self.kind} needs kill, tr, grep, sleep and cat on {host.name}",
            duration_s=duration,
            manual=f"kill -s CONT $(cat {state}); rm -f {state}",
            settle_s=6.0,  # inject waits up to 5 s for the processes to stop
        )


PROCESS_FAULTS: tuple[Fault, ...] = (ProcessKill(), ProcessPause())
