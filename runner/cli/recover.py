"""`drillctl recover RUN_DIR`: revert every fault a crashed run left behind."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runner.cli.command import Command
from runner.errors import ExitCode


def recover_run(args: argparse.Namespace) -> int:
    """Exit 0 when no fault is left, 1 (with the command to run by hand) when one is."""
    from runner.engine.recover import recover

    run_dir = Path(args.run_dir)
    report = recover(run_dir, force=args.force, deadline_s=args.deadline, settle_s=args.settle)
    if not report.pending:
        print(f"{run_dir}: no fault left to revert")
        return ExitCode.PASSED
    if report.waited_s:
        print(f"waited {report.waited_s:.1f}s for operations the dead run left in flight to land")
    for fault_id in report.reverted:
        print(f"reverted {fault_id} (checked, and again after settling)")
    for left in report.failed:
        print(
            f"NOT REVERTED {left.fault_id} on {left.host}: {left.summary}: {left.why}\n"
            f"  run by hand on {left.host}: {left.manual}\n"
            f"  then: drillctl recover {run_dir}",
            file=sys.stderr,
        )
    if report.failed:
        print(f"{len(report.failed)} fault(s) still in effect", file=sys.stderr)
    return ExitCode.FAILED if report.failed else ExitCode.PASSED


def seconds(text: str) -> float:
    """argparse type: a number of seconds from 0 to a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 86400 seconds")
    return value


def _arguments(rec: argparse.ArgumentParser) -> None:
    rec.add_argument("run_dir")
    rec.add_argument("--force", action="store_true", help="even if the run's process still lives")
    rec.add_argument(
        "--deadline",
        type=seconds,
        default=120.0,
        metavar="SECONDS",
        help="keep reverting until every fault's check holds or this much time has passed "
        "(default 120)",
    )
    rec.add_argument(
        "--settle",
        type=seconds,
        default=1.0,
        metavar="SECONDS",
        help="after a revert, wait this long and check again (default 1)",
    )


RECOVER = Command(
    "recover",
    "revert every fault a crashed run left behind",
    description="Read RUN_DIR/journal.jsonl (the write-ahead fault ledger) and revert every "
    "fault whose revert was not recorded, for a runner that died (even kill -9). It first lets "
    "an operation the dead run left in flight land (a stop in its grace period), then "
    "reverts, checks, waits --settle and checks again, repeating until the check holds or "
    "--deadline passes. Running it twice is harmless. Exit 0 when nothing is left, 1 when "
    "a fault is still in effect (what is left and the command to run by hand are printed).",
    arguments=_arguments,
    handler=recover_run,
)
