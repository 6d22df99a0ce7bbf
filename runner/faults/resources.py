"""Resource faults: burn CPU (`resource.cpu`), hold memory (`resource.memory`), fill a disk
(`disk.fill`).

Whatever these start on the target ends by itself: CPU burners stop at the end of
`duration`, the memory holder lets go then, and a watchdog (started before the fault)
kills them, or removes the fill file, `duration` + 30 s later even if drillctl died. Revert
kills exactly the processes carrying this fault's token in their environment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from runner.durations import DURATION_SCHEMA
from runner.faults.base import Fault, FaultArgError, FaultContext, FaultPlan
from runner.faults.scripts import (
    FAILSAFE_PROPERTIES,
    WATCHDOG_MARGIN_S,
    failsafe_s,
    seconds,
    shell_op,
    state_file,
    token_of,
    watchdog_call,
)
from runner.inventory.model import Host

MAX_RESOURCE_S = 86400.0
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", re.IGNORECASE)
SIZE_SCHEMA: dict[str, Any] = {
    "type": ["string", "integer"],
    "pattern": r"^\s*\d+(\.\d+)?\s*([KkMmGgTt]([iI]?[bB])?)?\s*$",
    "minimum": 1,
    "x-pattern-hint": "expected a size like 512K, 256M or 1G (binary units: 1K = 1024 bytes)",
}


def parse_size(value: object, key: str = "size") -> int:
    """Bytes for `256M`, `1.5G`, `100KiB` or a plain number of bytes (units are binary)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if not match or float(match[1]) <= 0:
        raise FaultArgError(f"`{key}`: expected a size like 256M or 1G, got {value!r}")
    return math.ceil(float(match[1]) * _UNITS[match[2].upper()])


def _sized(args: Mapping[str, Any], max_default: str, keep_default: str) -> tuple[int, int, int]:
    """(size, keep_free) in bytes and size in KiB; size refused past `max_size`."""
    if "size" not in args:
        raise FaultArgError("`size` is required")
    size = parse_size(args["size"])
    cap = parse_size(args.get("max_size", max_default), "max_size")
    if size > cap:
        raise FaultArgError(
            f"`size` {args['size']} is over `max_size` {args.get('max_size', max_default)}; "
            "raise `max_size` if you mean it"
        )
    keep = parse_size(args.get("keep_free", keep_default), "keep_free")
    return size, keep, math.ceil(size / 1024)


def _lifetime(args: Mapping[str, Any]) -> tuple[float, int, int]:
    """(duration, its whole seconds, the watchdog's delay) for a self-ending resource fault."""
    duration = seconds(args, "duration", "60s", MAX_RESOURCE_S)
    whole = max(1, math.ceil(duration))
    return duration, whole, whole + int(WATCHDOG_MARGIN_S)


# Revert and watchdog alike: end every process carrying the token, then forget the pids.
_END = """end_marked "DRILLCTL_WATCHDOG=$tok"; end_marked "DRILLCTL_FAULT=$tok"; rm -f "$pids"
echo "no process of this fault is left"
"""
_WATCHDOG_END = 'end_marked "DRILLCTL_FAULT=$tok"; rm -f "$pids"'
_RUNNING = """[ -s "$pids" ] || exit 1
for p in $(cat "$pids"); do has_mark "$p" "DRILLCTL_FAULT=$tok" || exit 1; done
"""
_STARTED = """i=0
while :; do  # a child shows its own environment only once it has exec'd
  dead=; for p in $(cat "$pids"); do has_mark "$p" "DRILLCTL_FAULT=$tok" || dead="$dead $p"; done
  [ -z "$dead" ] && break
  [ "$i" -ge 20 ] && fail "burners$dead are not running"
  nap 0.1; i=$((i+1))
done
"""

# A burner spins in the shell and ends by itself at epoch $1; below 100 % load it first
# counts how many spins fill one second, then spins that share of each second and sleeps.
_BURN = r"""end=$1 load=$2
spin() { i=0; while [ "$i" -lt 20000 ]; do i=$((i+1)); done; }
if [ "$load" -ge 100 ]; then
  while [ "$(date +%s)" -lt "$end" ]; do spin; done; exit 0
fi
s=$(date +%s); while [ "$(date +%s)" = "$s" ]; do spin; done
s=$(date +%s); n=0; while [ "$(date +%s)" = "$s" ]; do spin; n=$((n+1)); done
busy=$((n * load / 100)); rest=$(printf '0.%02d' $((100 - load)))
while [ "$(date +%s)" -lt "$end" ]; do
  k=0; while [ "$k" -lt "$busy" ]; do spin; k=$((k+1)); done
  sleep "$rest" 2>/dev/null || sleep 1
done"""


def _kill_by_hand(ctx: FaultContext, pids: str) -> str:
    token = token_of(ctx)
    return (
        "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' <\"$f\" 2>/dev/null | "
        f"grep -qE '^DRILLCTL_(FAULT|WATCHDOG)={re.escape(token)}$' && "
        'p=${f%/environ} && kill -KILL "${p#/proc/}"; done; ' + f"rm -f {pids}"
    )


class ResourceCpu(Fault):
    kind = "resource.cpu"
    description = "Burn CPU with N workers (stress-ng if present, else shell loops)."
    schema = {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "workers": {"type": "integer", "minimum": 1, "maximum": 256, "default": 1},
            "load": {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "default": 100,
                "description": "Percent of one CPU each worker keeps busy.",
            },
            "duration": {**DURATION_SCHEMA, "default": "60s", "description": "At most 24h."},
            "method": {
                "enum": ["auto", "stress-ng", "shell"],
                "default": "auto",
                "description": "`auto` uses stress-ng when the target has it.",
            },
        },
        "examples": [{"workers": 2, "duration": "2m"}, {"load": 50, "method": "shell"}],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        workers, load = args.get("workers", 1), args.get("load", 100)
        if not isinstance(workers, int) or not 1 <= workers <= 256:
            raise FaultArgError("`workers` must be an integer from 1 to 256")
        if not isinstance(load, int) or not 1 <= load <= 100:
            raise FaultArgError("`load` must be an integer percentage from 1 to 100")
        method = args.get("method", "auto")
        if method not in ("auto", "stress-ng", "shell"):
            raise FaultArgError("`method` must be auto, stress-ng or shell")
        duration, whole, limit = _lifetime(args)
        pids = state_file(ctx, "cpu.pids")
        values = {"pids": pids, "method": method, "burn": _BURN}
        inject = f"""need date sleep
[ "$method" = stress-ng ] && need stress-ng
mkdir -p /tmp; : >"$pids" || fail "cannot write $pids"
{watchdog_call(self.kind, ctx, limit, _WATCHDOG_END, pids=pids)}
if [ "$method" != shell ] && command -v stress-ng >/dev/null 2>&1; then
  DRILLCTL_FAULT=$tok stress-ng --cpu {workers} --cpu-load {load} --timeout {whole}s \\
    </dev/null >/dev/null 2>&1 &
  echo $! >>"$pids"
else
  end=$(($(date +%s) + {whole})); n=0
  while [ "$n" -lt {workers} ]; do
    DRILLCTL_FAULT=$tok sh -c "$burn" DRILLCTL-OP-cpu "$end" {load} </dev/null >/dev/null 2>&1 &
    echo $! >>"$pids"; n=$((n+1))
  done
fi
{_STARTED}echo "burning {workers} x {load}% CPU for {whole}s: $(cat "$pids" | tr '\\n' ' ')"
"""
        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=f"burn {workers} x {load}% CPU for {duration:g}s",
            inject=(shell_op(self.kind, "inject", ctx, inject, **values),),
            revert=(shell_op(self.kind, "revert", ctx, _END, pids=pids),),
            check=shell_op(self.kind, "check", ctx, _RUNNING, pids=pids),
            duration_s=duration,
            manual=_kill_by_hand(ctx, pids),
        )


class ResourceMemory(Fault):
    kind = "resource.memory"
    description = "Hold memory in one process (`head -c SIZE /dev/zero | tail`)."
    schema = {
        "description": description
        + " Refused past `max_size`, or when less than `keep_free` would stay available.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "size": {**SIZE_SCHEMA, "description": "Memory to hold.", "examples": ["256M"]},
            "max_size": {**SIZE_SCHEMA, "default": "1G", "description": "Refuse a larger size."},
            "keep_free": {
                **SIZE_SCHEMA,
                "default": "256M",
                "description": "Refuse if less would stay available (MemAvailable, and the "
                "cgroup v2 memory.max of the target's shell when set).",
            },
            "duration": {**DURATION_SCHEMA, "default": "60s", "description": "At most 24h."},
        },
        "required": ["size"],
        "examples": [{"size": "256M", "duration": "2m"}],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        size, keep, size_k = _sized(args, "1G", "256M")
        duration, whole, limit = _lifetime(args)
        pids = state_file(ctx, "memory.pids")
        values = {"pids": pids, "bytes": str(size), "size_k": str(size_k)}
        # `tail` keeps its whole input when no newline comes, and /dev/zero has none: it
        # holds exactly SIZE (stress-ng --vm would also burn a CPU touching pages).
        inject = f"""need head tail date sleep sed
keep_k={math.ceil(keep / 1024)}
avail=; while read -r k v _; do [ "$k" = MemAvailable: ] && avail=$v; done </proc/meminfo
[ -n "$avail" ] || fail "cannot read MemAvailable from /proc/meminfo"
[ $((avail - size_k)) -ge "$keep_k" ] ||
  fail "only $avail KiB available: holding $size_k KiB would leave less than keep_free"
cg=$(sed -n 's/^0:://p' /proc/self/cgroup 2>/dev/null)
max=; read -r max 2>/dev/null <"/sys/fs/cgroup$cg/memory.max"
cur=; read -r cur 2>/dev/null <"/sys/fs/cgroup$cg/memory.current"
case $max$cur in ''|*[!0-9]*) ;; *)
  [ $(((max - cur) / 1024 - size_k)) -ge "$keep_k" ] ||
    fail "cgroup memory.max leaves $(((max - cur) / 1024)) KiB: too little for $size_k KiB";;
esac
mkdir -p /tmp; : >"$pids" || fail "cannot write $pids"
{watchdog_call(self.kind, ctx, limit, _WATCHDOG_END, pids=pids)}
end=$(($(date +%s) + {whole}))
DRILLCTL_FAULT=$tok sh -c '{{ head -c "$1" /dev/zero; while [ "$(date +%s)" -lt "$2" ]; do
  sleep 1; done; }} | tail >/dev/null' DRILLCTL-OP-memory "$bytes" "$end" \
  </dev/null >/dev/null 2>&1 &
echo $! >"$pids"
held() {{  # KiB resident or swapped in what this fault started
  t=0
  for p in $(marked "DRILLCTL_FAULT=$tok"); do
    while read -r k v _; do case $k in VmRSS:|VmSwap:) t=$((t + v));; esac
    done 2>/dev/null </proc/$p/status
  done
  echo "$t"
}}
i=0
until [ $(($(held) * 10)) -ge $((size_k * 9)) ]; do
  [ "$i" -ge 300 ] && fail "holds only $(held) of $size_k KiB after 30s"
  has_mark "$(cat "$pids")" "DRILLCTL_FAULT=$tok" || fail "memory holder died (out of memory?)"
  nap 0.1; i=$((i+1))
done
echo "holding $(held) KiB for {whole}s"
"""
        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=f"hold {args['size']} of memory for {duration:g}s",
            inject=(shell_op(self.kind, "inject", ctx, inject, **values),),
            revert=(shell_op(self.kind, "revert", ctx, _END, pids=pids),),
            check=shell_op(self.kind, "check", ctx, _RUNNING, pids=pids),
            duration_s=duration,
            manual=_kill_by_hand(ctx, pids),
        )


class DiskFill(Fault):
    kind = "disk.fill"
    description = "Fill a filesystem with one file, `.drillctl-fill-<token>` in `path`."
    schema = {
        "description": description
        + " Refused past `max_size`, or when less than `keep_free` would stay free (df).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "path": {
                "type": "string",
                "pattern": "^/",
                "description": "Directory (absolute) on the filesystem to fill.",
                "examples": ["/var/lib/order-gateway"],
            },
            "size": {**SIZE_SCHEMA, "description": "Bytes to write.", "examples": ["500M"]},
            "max_size": {**SIZE_SCHEMA, "default": "1G", "description": "Refuse a larger size."},
            "keep_free": {
                **SIZE_SCHEMA,
                "default": "100M",
                "description": "Refuse if less than this would stay free.",
            },
            **FAILSAFE_PROPERTIES,
        },
        "required": ["path", "size"],
        "examples": [{"path": "/var/log", "size": "500M", "duration": "1m"}],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        path = args.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise FaultArgError("`path` must be an absolute directory path")
        size, keep, size_k = _sized(args, "1G", "100M")
        duration, failsafe = failsafe_s(args)
        fill = f"{path.rstrip('/')}/.drillctl-fill-{token_of(ctx)}"
        values = {"dir": path, "fill": fill, "bytes": str(size), "size_k": str(size_k)}
        # fallocate reserves the blocks at once; where the filesystem cannot (some overlay
        # or network filesystems), write zeros instead.
        inject = f"""need df tail head rm
[ -d "$dir" ] || fail "$dir is not a directory"
set -f; set -- $(df -Pk "$dir" | tail -n 1); set +f; avail=$4
case $avail in ''|*[!0-9]*) fail "cannot read the free space of $dir from df";; esac
[ $((avail - size_k)) -ge {math.ceil(keep / 1024)} ] ||
  fail "$dir has $avail KiB free: writing $size_k KiB would leave less than keep_free"
{watchdog_call(self.kind, ctx, failsafe, 'rm -f "$fill"', fill=fill)}
fallocate -l "$bytes" "$fill" 2>/dev/null || head -c "$bytes" /dev/zero >"$fill" ||
  {{ rm -f "$fill"; fail "could not write $size_k KiB to $fill"; }}
echo "wrote $fill ($size_k KiB)"
"""
        revert = """end_marked "DRILLCTL_WATCHDOG=$tok"
[ -e "$fill" ] || { echo "no $fill"; exit 0; }
rm -f "$fill" || fail "could not remove $fill"
echo "removed $fill"
"""
        return FaultPlan(
            kind=self.kind,
            host=host.name,
            summary=f"fill {path} with {args['size']}",
            inject=(shell_op(self.kind, "inject", ctx, inject, **values),),
            revert=(shell_op(self.kind, "revert", ctx, revert, fill=fill),),
            check=shell_op(self.kind, "check", ctx, '[ -e "$fill" ]', fill=fill),
            duration_s=duration,
            manual=f"rm -f {fill}",
        )


RESOURCE_FAULTS: tuple[Fault, ...] = (ResourceCpu(), ResourceMemory(), DiskFill())
