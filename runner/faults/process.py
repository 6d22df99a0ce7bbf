"""Process faults: `process.kill` (restarted on revert) and `process.pause` (SIGSTOP, SIGCONT).

Also the shell building blocks the shell faults share: the script header, state files named
with the fault's token, and processes a fault starts itself (burners, holders, watchdogs).
Those carry `DRILLCTL_FAULT=<token>` (or `DRILLCTL_WATCHDOG=<token>`) in their environment,
which every child inherits, so revert finds exactly them, children included, from the plan
alone and without trusting a pid that may have been reused.

Processes are found by scanning /proc, never with pgrep: busybox images often lack it, and
`pgrep -f` run from a script matches the script's own shell.
"""

from __future__ import annotations

import hashlib
import math
import re
import shlex
from collections.abc import Mapping
from typing import Any

from runner.actions.base import DURATION_SCHEMA
from runner.durations import parse_duration
from runner.faults.base import SHELL, Fault, FaultArgError, FaultContext, FaultOp, FaultPlan
from runner.inventory.model import Host

# In the first line of every script and the argv of every process a fault starts, so
# matching by command line never picks drillctl's own.
OP_MARK = "DRILLCTL-OP"
WATCHDOG_MARGIN_S = 30.0
MAX_WAIT_S = 50.0  # every wait happens inside one operation, which the runner stops at 60 s
MAX_FAULT_S = 7 * 86400.0

_PRELUDE = r"""fail() { echo "drillctl $kind: $*" >&2; exit 1; }
need() {  # exit 3 (environment error) when the target lacks a tool
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 && continue
    echo "drillctl $kind: needs '$t' on the target" >&2; exit 3
  done
}
nap() { sleep "$1" 2>/dev/null || sleep 1; }  # some busybox builds cannot sleep 0.1"""

_FUNCTIONS = {
    "marked": r"""marked() {  # pids whose environment holds exactly $1
  if printf 'x\0%s\0' "$1" | grep -qzxF -- "$1" 2>/dev/null; then
    files=$(grep -lzxF -- "$1" /proc/[0-9]*/environ 2>/dev/null)
  else  # a grep without -z: plain grep stops reading a line at its first NUL
    files=$(for f in /proc/[0-9]*/environ; do
      tr '\0' '\n' 2>/dev/null <"$f" | grep -qxF -- "$1" && echo "$f"; done)
  fi
  for f in $files; do
    p=${f#/proc/}; p=${p%/environ}
    [ "$p" != "$$" ] && has_mark "$p" "$1" && echo "$p"
  done
  return 0
}
has_mark() { tr '\0' '\n' 2>/dev/null </proc/$1/environ | grep -qxF -- "$2"; }
kids() {  # children of the pids given: stress-ng workers rewrite their environment
  for s in /proc/[0-9]*/stat; do
    l=; read -r l 2>/dev/null <"$s" || continue
    l=${l##*) }; l=${l#* }
    case " $* " in *" ${l%% *} "*) s=${s#/proc/}; echo "${s%/stat}";; esac
  done
}
end_marked() {  # SIGKILL them and their children until none is left
  i=0
  while p=$(marked "$1"); [ -n "$p" ]; do
    [ "$i" -ge 30 ] && fail "processes $p started by this fault survive SIGKILL"
    kill -s KILL $p $(kids $p) 2>/dev/null; i=$((i+1)); nap 0.1
  done
}""",
    "watchdog": r"""watchdog() {  # after $1 s, run script $2 here, even if drillctl is gone
  DRILLCTL_WATCHDOG=$tok sh -c 'sleep "$1" && eval "$2"' DRILLCTL-OP-watchdog "$1" "$2" \
    </dev/null >/dev/null 2>&1 &
}""",
    "pstate": r"""pstate() {  # one-letter state of pid $1, empty once it is gone
  s=; read -r s 2>/dev/null </proc/$1/stat; s=${s##*) }; echo "${s%% *}"
}
live() {  # those of the pids still alive: a zombie is dead
  for p in "$@"; do case $(pstate "$p") in ''|Z|X|x) ;; *) echo "$p";; esac; done
}""",
}
_USES = {"marked": "marked", "end_marked": "marked", "has_mark": "marked", "watchdog": "watchdog"}
_USES |= {"live": "pstate", "pstate": "pstate"}


def token_of(ctx: FaultContext) -> str:
    """The token, safe inside file names and shell words, and unique across runs: the
    engine's ids restart with every run, so the run directory's hash is part of it."""
    token = re.sub(r"[^A-Za-z0-9_.-]", "_", ctx.token)
    if not ctx.run_dir:
        return token
    return f"{token}-{hashlib.sha256(ctx.run_dir.encode()).hexdigest()[:6]}"


def state_file(ctx: FaultContext, suffix: str) -> str:
    """A state file on the target; /tmp is cleared at boot, as are the processes it names."""
    return f"/tmp/drillctl-{token_of(ctx)}.{suffix}"


def script(kind: str, ctx: FaultContext, body: str, **values: str) -> str:
    """Shared functions `body` calls, `values` as quoted shell variables, then `body`."""
    parts = [_PRELUDE]
    called = set(re.findall(r"\b([a-z_]+)\b", body))
    for name in dict.fromkeys(_USES[w] for w in _USES if w in called):
        parts.append(_FUNCTIONS[name])
    variables = {"kind": kind, "tok": token_of(ctx), **values}
    for key, value in variables.items():
        if "\0" in value:  # no argv, hence no shell script, can carry a NUL byte
            raise FaultArgError(f"`{key}` cannot contain a NUL byte")
    parts.append("\n".join(f"{k}={shlex.quote(v)}" for k, v in variables.items()))
    parts.append(body.strip())
    return "\n".join(parts) + "\n"


def shell_op(kind: str, role: str, ctx: FaultContext, body: str, **values: str) -> FaultOp:
    """A /bin/sh operation run on the target, its first line naming the fault and role."""
    header = f"# {OP_MARK} {kind} {role} {token_of(ctx)}\n"
    return FaultOp(SHELL, header + script(kind, ctx, body, **values))


def running_op_probe(plan: FaultPlan) -> FaultOp | None:
    """A check that exits 0 while an operation of this fault still runs on its target.

    Every shell operation built by `shell_op` names its fault's token on its first line, so
    its process can be found in /proc. The probe's own command line must not match: it
    spells the mark in two pieces. None for a fault with no such operation (Docker API ops,
    `custom`): then only time tells.
    """
    for op in plan.inject + plan.revert:
        first = op.script.split("\n", 1)[0].split()
        if op.via == SHELL and first[:2] == ["#", OP_MARK] and len(first) == 5:
            probe = f"""mark=DRILLCTL-""OP tok={shlex.quote(first[4])}
for f in /proc/[0-9]*/cmdline; do
  p=${{f#/proc/}}; p=${{p%/cmdline}}; [ "$p" = "$$" ] && continue
  case $(tr '\\0' ' ' 2>/dev/null <"$f") in *"# $mark "*" $tok"*) exit 0;; esac
done
exit 1
"""
            return FaultOp(SHELL, probe)
    return None


def watchdog_call(kind: str, ctx: FaultContext, delay_s: float, body: str, **values: str) -> str:
    """The line that starts a watchdog running `body` after `delay_s` (whole seconds, since
    minimal busybox `sleep` takes no fractions)."""
    action = script(kind, ctx, body, **values)
    return f"watchdog {math.ceil(delay_s)} {shlex.quote(action)}"


def seconds(args: Mapping[str, Any], key: str, default: str, maximum: float) -> float:
    """A duration argument in seconds, refused past `maximum`."""
    try:
        value = parse_duration(args.get(key, default))
    except ValueError as exc:
        raise FaultArgError(f"`{key}`: {exc}") from None
    if value > maximum:
        raise FaultArgError(f"`{key}` may be at most {maximum:g}s, got {value:g}s")
    return value


def failsafe_s(args: Mapping[str, Any]) -> tuple[float | None, float]:
    """(duration, watchdog delay): the watchdog undoes the fault if drillctl never does."""
    if "duration" in args:
        duration = seconds(args, "duration", "0", MAX_FAULT_S)
        return duration, duration + WATCHDOG_MARGIN_S
    return None, seconds(args, "failsafe", "1h", MAX_FAULT_S)


DURATION_PROPERTY: dict[str, Any] = {
    **DURATION_SCHEMA,
    "description": "How long the fault lasts before it is reverted.",
    "examples": ["30s"],
}
FAILSAFE_PROPERTIES: dict[str, Any] = {
    "duration": DURATION_PROPERTY,
    "failsafe": {
        **DURATION_SCHEMA,
        "default": "1h",
        "description": "Without `duration`: a watchdog on the target reverts after this long "
        "even if drillctl died and nobody ran `drillctl recover`.",
    },
}
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
        # The state file is written before the kill: revert restarts only what inject killed,
        # never a process that was already down before the drill.
        inject = f"""{procs}
pids=$(procs)
[ -n "$pids" ] || fail "no running process matches $what: nothing to kill"
mkdir -p /tmp; echo $pids >"$state" || fail "cannot write $state"
kill -s {sig} $pids 2>/dev/null
i=0
while left=$(live $pids); [ -n "$left" ]; do
  [ "$i" -ge {math.ceil(wait * 10)} ] && fail "sent SIG{sig} to $pids; $left alive after {wait:g}s"
  nap 0.1; i=$((i+1))
done
echo "killed $pids ($what) with SIG{sig}"
"""
        # A process given a graceful signal may take seconds to exit, even after the runner
        # that sent it died: wait for the pids inject recorded to go (within `wait`) before
        # judging whether anything runs, or a dying process passes for a running one.
        revert = f"""{procs}
[ -f "$state" ] || {{ echo "nothing to restart: none killed, or already restarted"; exit 0; }}
i=0
while dying=$(live $(cat "$state")); [ -n "$dying" ] && [ "$i" -lt {math.ceil(wait * 10)} ]; do
  nap 0.1; i=$((i+1))
done
if [ -n "$(procs)" ]; then
  echo "$what is running again"
else
  # Output to a file: a daemon the command starts must not hold this operation's pipes.
  sh -c "$restart" </dev/null >"$state.log" 2>&1
  rc=$?; [ "$rc" -eq 0 ] || fail "restart failed (rc $rc): $(cat "$state.log")"
  i=0
  until [ -n "$(procs)" ]; do
    [ "$i" -ge {math.ceil(restart_wait * 10)} ] && fail "restart ran, yet nothing matches $what"
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
