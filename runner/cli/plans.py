"""`drillctl drill run|status PLAN`: work through a quarter's drill plan."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from runner.cli.command import Command
from runner.cli.history import add_history_option
from runner.errors import ExitCode, InputError


def drill_run(args: argparse.Namespace) -> int:
    """Run the plan's drills in order; exit 0 only when every one ran and passed."""
    from runner.history.access import check_history_target
    from runner.history.store import open_store
    from runner.plans.execute import run_plan, select
    from runner.plans.model import load_plan

    plan = load_plan(args.plan)
    entries = select(plan, args.only)
    if not entries:
        raise InputError.at(args.plan, 1, 1, "the plan lists no drills")
    with open_store(check_history_target(args.history)) as store:
        outcomes = run_plan(plan, entries, store, Path(args.runs_dir), args.extra_vars)
    failed = [o for o in outcomes if o.exit_code != ExitCode.PASSED]
    print(f"{len(outcomes) - len(failed)} of {len(entries)} drills passed")
    if any(o.exit_code == ExitCode.INTERRUPTED for o in outcomes):
        return ExitCode.INTERRUPTED
    return ExitCode.FAILED if failed or len(outcomes) < len(entries) else ExitCode.PASSED


def drill_status(args: argparse.Namespace) -> int:
    """Per planned drill: done, failed, overdue or pending, from the run history."""
    from datetime import datetime, timezone

    from runner.history.access import read_runs
    from runner.plans.model import load_plan
    from runner.plans.status import plan_status

    plan = load_plan(args.plan, check_files=False)
    runs = read_runs(args.history, plan.quarter)
    statuses = plan_status(plan, runs, datetime.now(timezone.utc).date())
    if args.format == "json":
        rows = [{**s.__dict__, "due": str(s.due)} for s in statuses]
        print(json.dumps({"quarter": str(plan.quarter), "drills": rows}, indent=2))
        return ExitCode.PASSED
    width = max((len(s.entry_id) for s in statuses), default=2)
    print(f"{'DRILL':<{width}}  {'STATE':<15}  DUE         OWNER / LAST RUN")
    for s in statuses:
        state = s.state + ("!" if s.overdue and s.state != "overdue" else "")
        state += " (late)" if s.late else ""
        last = f"{s.last_run_id} ({s.last_status})" if s.last_run_id else "never run"
        if s.unplanned_runs:
            last += f"; {s.unplanned_runs} unplanned run(s) by hand, not counted"
        print(f"{s.entry_id:<{width}}  {state:<15}  {s.due}  {s.owner} / {last}")
    counts = {k: sum(1 for s in statuses if s.state == k) for k in ("done", "failed", "overdue")}
    late = sum(1 for s in statuses if s.late)
    print(
        f"{plan.quarter}: {len(statuses)} planned, {counts['done']} done ({late} late), "
        f"{counts['failed']} failed, {counts['overdue']} overdue"
    )
    return ExitCode.PASSED


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("plan")
    run.add_argument("--only", action="append", default=[], metavar="ID", help="repeatable")
    run.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="NAME=VALUE|@FILE",
        help="passed to every drill, over the plan's extra_vars; repeatable",
    )
    run.add_argument(
        "--runs-dir", default="drills/runs", help="where run directories go (default drills/runs)"
    )
    add_history_option(run)


def _status_arguments(status: argparse.ArgumentParser) -> None:
    status.add_argument("plan")
    status.add_argument("--format", choices=["text", "json"], default="text")
    add_history_option(status)


DRILL = Command(
    "drill",
    "run a quarter's drill plan, or show its status",
    description="A drill plan (drills/2026Q4.yml) lists the quarter's drills: id, "
    "playbook, inventory, owner, due date, change ids, extra vars.",
    subcommands=(
        Command(
            "run",
            "run each planned drill in order and record it in the history",
            description="Run each listed drill as `drillctl run` would, one after another; a "
            "failed drill does not stop the plan. Exit 0 when every drill passed, 1 otherwise, "
            "130 after Ctrl-C (the running drill rolls back; the rest are not started).",
            arguments=_run_arguments,
            handler=drill_run,
        ),
        Command(
            "status",
            "per drill: done, failed, overdue or pending",
            description="done: a passed run made under the entry this quarter (`drill run`), "
            "marked late when it came after the due date; failed: run under the entry, none "
            "passed; overdue: due date passed and not done; pending: not run yet. Runs started "
            "by hand are shown as unplanned and do not count; voided runs count for nothing.",
            arguments=_status_arguments,
            handler=drill_status,
        ),
    ),
)
