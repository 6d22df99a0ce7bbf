"""`drillctl approve RUN_DIR`: the go-ahead a drill waiting for a manual decision needs."""

from __future__ import annotations

import argparse
from pathlib import Path

from runner.cli.command import Command
from runner.errors import ExitCode, InputError


def approve_rollback(args: argparse.Namespace) -> int:
    """Approve a rollback waiting for a manual decision; exit 2 when nothing is waiting."""
    from runner.engine.monitor import (
        AlreadyApproved,
        approvals_needed,
        approve,
        read_approvals,
        waiting_for_decision,
    )

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise InputError.at(str(run_dir), 1, 1, "no such run directory")
    why_not = waiting_for_decision(run_dir)
    if why_not:
        raise InputError.at(str(run_dir), 1, 1, f"nothing to approve: {why_not}")
    try:
        path = approve(run_dir, args.operator)
    except AlreadyApproved as exc:
        raise InputError.at(str(run_dir), 1, 1, f"nothing to approve: {exc}") from None
    have, needed = len(read_approvals(run_dir)), approvals_needed(run_dir)
    more = f"; {needed - have} more needed" if have < needed else ""
    print(f"approved: {path} ({have} of {needed} approvals{more})")
    return ExitCode.PASSED


def _arguments(appr: argparse.ArgumentParser) -> None:
    appr.add_argument("run_dir")
    appr.add_argument("--operator", default="", help="who decides (default: login name)")


APPROVE = Command(
    "approve",
    "approve the rollback of a drill waiting for a manual decision",
    description="Record an operator's go-ahead in RUN_DIR; a drill with "
    "`decision: {manual: true}` waiting there starts its rollback and records who "
    "decided and when (the time to decide). Exit 2 when the run is not waiting for a "
    "decision (not asked yet, already decided, finished, or its runner is gone).",
    arguments=_arguments,
    handler=approve_rollback,
)
