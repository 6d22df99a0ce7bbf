"""`drillctl halt [RUN_DIR | --all]`: stop running drills the safe way."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from runner.cli.command import Command
from runner.errors import ExitCode, InputError

DESCRIPTION = """\
Stop one running drill (RUN_DIR) or every drill running on this controller (--all), the
way a first Ctrl-C does: it sends the drill's process one SIGTERM. The running step stops,
faults are reverted, the rollback runs (a rollback already running finishes), cleanup runs
and the reports are written; the run exits 130 and its journal ends with `interrupted`.

A drill that already received a signal is sent none (a second signal would skip the rest
of its rollback); halt then only waits. Before signalling, halt proves the process is that
drill: a `drillctl run` holding RUN_DIR/journal.jsonl open, whose run_started names its pid.
Running drills are found through the inventory locks (DRILLCTL_LOCK_DIR).

exit codes: 0 every drill halted (stopped, or signalled with --no-wait) · 2 nothing is
running there · 3 not allowed to signal it, or still stopping after --timeout"""

EXAMPLES = """\
examples:
  drillctl halt drills/runs/20261121T101500Z-quickstart
  drillctl halt --all                   # every drill on this controller
  drillctl halt --all --no-wait         # signal them and return at once
  drillctl halt RUN_DIR --timeout 30m   # a long rollback: wait up to 30 minutes"""


def halt_drills(args: argparse.Namespace) -> int:
    """SIGTERM the drill(s) proven to be running there, then wait for them to stop."""
    from runner.durations import parse_duration
    from runner.engine.halt import (
        OtherUsersDrill,
        drill_at,
        final_event,
        halt,
        running_drills,
        wait_until_stopped,
    )
    from runner.engine.safety import lock_dir

    if args.run_dir and args.all:
        raise InputError.at("<command line>", 1, 1, "give RUN_DIR or --all, not both")
    if not args.run_dir and not args.all:
        raise InputError.at("<command line>", 1, 1, "give RUN_DIR, or --all for every drill")
    try:
        timeout_s = parse_duration(args.timeout)
    except ValueError as exc:
        raise InputError.at("<command line>", 1, 1, f"--timeout: {exc}") from None
    others: list[OtherUsersDrill] = []
    if args.all:
        drills, others = running_drills()
        for other in others:
            print(f"drillctl: {other}", file=sys.stderr)
        if not drills and not others:
            raise InputError.at(
                "<command line>", 1, 1, f"no drill is running on this controller ({lock_dir()})"
            )
    else:
        drills = [drill_at(Path(args.run_dir))]
    operator = args.operator or _login()
    sent = [halt(d, operator) for d in drills]
    for s in sent:
        d = s.drill
        if s.signalled:
            who = d.operator or "unknown operator"
            print(f"halting {d.run_dir} (pid {d.pid}, {who}): SIGTERM sent")
        else:
            print(f"{d.run_dir} is already stopping ({d.stopping or 'it ended'}); no second signal")
    code = ExitCode.ENVIRONMENT if others else ExitCode.PASSED
    if args.no_wait:
        return code
    for s in sent:
        d = s.drill
        if not wait_until_stopped(d, timeout_s):
            print(
                f"{d.run_dir}: still stopping after {args.timeout} (the rollback or cleanup "
                "goes on); follow it in its journal.jsonl",
                file=sys.stderr,
            )
            code = ExitCode.ENVIRONMENT
            continue
        last = final_event(d.run_dir)
        status = last.get("status") or "ended without a final event (see drillctl recover)"
        print(f"{d.run_dir}: {status}: {last.get('reason', '')}".rstrip(": "))
    return code


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="the run directory to halt")
    p.add_argument("--all", action="store_true", help="halt every drill running here")
    p.add_argument(
        "--timeout",
        default="10m",
        metavar="DURATION",
        help="how long to wait for the drills to stop (default 10m; e.g. 90s, 30m)",
    )
    p.add_argument(
        "--no-wait", action="store_true", help="return once the signal is sent, without waiting"
    )
    p.add_argument("--operator", default="", help="who halts (default: login name)")


HALT = Command(
    "halt",
    "stop running drills safely (faults reverted, rollback, cleanup, reports)",
    description=DESCRIPTION,
    epilog=EXAMPLES,
    formatter_class=argparse.RawDescriptionHelpFormatter,
    arguments=_arguments,
    handler=halt_drills,
)
