"""The shell building blocks every shell fault shares: the script header and its shell
functions, state files named with the fault's token, watchdogs, and duration arguments.

Processes a fault starts itself (burners, holders, watchdogs) carry `DRILLCTL_FAULT=<token>`
(or `DRILLCTL_WATCHDOG=<token>`) in their environment, which every child inherits, so
revert finds exactly them, children included, from the plan alone and without trusting a
pid that may have been reused. Processes are found by scanning /proc, never with pgrep:
busybox images often lack it, and `pgrep -f` run from a script matches the script's own
shell.
"""

from __future__ import annotations

import hashlib
import math
import re
import shlex
from collections.abc import Mapping
from typing import Any

from runner.durations import DURATION_SCHEMA, parse_duration
from runner.faults.base import SHELL, FaultArgError, FaultContext, FaultOp, FaultPlan

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
_FUNCTIONS[
    "clock"
] = r"""cs() {  # hundredths of a second since boot; 0 where /proc/uptime cannot be read
  u=; read -r u _ 2>/dev/null </proc/uptime; u=${u%.*}${u#*.}; u=${u#"${u%%[!0]*}"}
  case $u in *[!0-9]*) u=;; esac; echo "${u:-0}"
}
deadline() {  # the instant $1 hundredths of a second from now (0: the clock is unreadable)
  c=$(cs); [ "$c" -gt 0 ] && echo $((c + $1)) || echo 0
}
late() {  # a wait is over: $1 naps taken of $2 allowed, or its deadline $3 has passed
  [ "$1" -ge "$2" ] || { [ "$3" -gt 0 ] && [ "$(cs)" -ge "$3" ]; }
}"""
_USES = {"marked": "marked", "end_marked": "marked", "has_mark": "marked", "watchdog": "watchdog"}
_USES |= {"cs": "clock", "deadline": "clock", "late": "clock"}
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


def bounded_wait(seconds: float) -> tuple[str, str]:
    """(the line that starts a wait of `seconds`, the test that says it is over).

    A wait whose every try takes time of its own (a process search over /proc, a service's
    status command) is held to the clock, not only to a count of 0.1 s naps: `restart_wait:
    10s` must not mean a minute on a busy host. The count stays as a bound where the target
    has no readable clock."""
    naps = math.ceil(seconds * 10)
    return f"i=0; end=$(deadline {math.ceil(seconds * 100)})", f'late "$i" {naps} "$end"'


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
