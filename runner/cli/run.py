"""`drillctl run` and `drillctl plan`: a drill playbook against an inventory."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from runner.cli import habits
from runner.cli.command import Command
from runner.errors import ExitCode, InputError, TargetEnvironmentError


def run_drill(args: argparse.Namespace) -> int:
    """`drillctl run`: the drill, or its plan with --check."""
    return _run(args, check=args.check)


def plan_drill(args: argparse.Namespace) -> int:
    """`drillctl plan`: every command each host would run; nothing is executed."""
    return _run(args, check=True)


def _run(args: argparse.Namespace, *, check: bool) -> int:
    """Run the drill, or (`check`) print its plan; --list-* and --syntax-check list and exit."""
    from runner.inventory.defaults import ConnectionDefaults
    from runner.run.launch import execute
    from runner.run.prepare import RunRequest, prepare

    habits.check_forks(args.forks)
    if not check:  # where the run will be recorded: a URL it cannot be recorded to is bad input
        from runner.history.access import check_history_target

        check_history_target(getattr(args, "history", None))
        _check_pushgateway(getattr(args, "pushgateway", None))
    request = RunRequest(
        playbook=args.playbook,
        inventories=habits.inventories(args),
        extra_vars=habits.extra_vars(args.extra_vars),
        limit=habits.read_limit(args.limit),
        tags=tuple(args.tags),
        skip_tags=tuple(args.skip_tags),
        out=getattr(args, "out", None),
        operator=getattr(args, "operator", ""),
        change_id=getattr(args, "change_id", ""),
        kind=getattr(args, "kind", "drill"),
        plan_entry=getattr(args, "plan_entry", None) or "",
        verbose=getattr(args, "verbose", 0),
        allow_production=getattr(args, "allow_production", False),
        allow_irreversible=getattr(args, "allow_irreversible", False),
        confirm=tuple(getattr(args, "confirm", ())),
        sign_key=getattr(args, "sign_key", None),
        ignore_unrecovered=getattr(args, "ignore_unrecovered", False),
        forks=args.forks,
        connection=ConnectionDefaults(args.user, args.private_key, args.become, args.become_user),
        start_at_task=args.start_at_task,
        diff=args.diff,
    )
    prepared = prepare(request)
    for warning in prepared.inventory.warnings_of(prepared.plan.touched_hosts()):
        print(warning.as_warning(), file=sys.stderr)
    from runner.run.listing import listing_mode, print_listing

    mode = listing_mode(args)
    if mode:
        print_listing(mode, prepared, sys.stdout)
        return ExitCode.PASSED
    if check:
        from runner.engine.plan_view import print_plan

        print_plan(prepared.plan, prepared.mask, sys.stdout)
        if request.diff:
            from runner.engine.plan_diff import print_plan_diffs

            print_plan_diffs(prepared.plan, prepared.templar, sys.stdout)
        return ExitCode.PASSED
    from runner.cli import startup_gc
    from runner.run.console import TerminalView
    from runner.run.summary import print_summary

    view = TerminalView(prepared.mask, verbose=request.verbose)
    startup_gc.loaded()  # the drill's code and plan are loaded: out of later collections
    try:
        outcome, run_dir = execute(prepared, view)
    except TargetEnvironmentError as exc:
        _record_journaled_run(Path(prepared.run.run_dir), prepared.run.run_id, args.history)
        # An error from a target or the controller can quote what it was given (a URL, a
        # command, a host's answer): the run's secrets are known here, so mask them.
        exc.args = (prepared.mask.mask(str(exc)),)
        raise
    print_summary(view, outcome, run_dir, prepared.playbook)
    from runner.history import record_run

    record_run(None, run_dir, args.history)  # a failure to record warns; the drill stands
    if getattr(args, "pushgateway", None):
        push_figures(run_dir, args.pushgateway)
    return outcome.exit_code


def _record_journaled_run(run_dir: Path, run_id: str, history: str | None) -> None:
    """A run that ended in an environment error after its journal began is still a run: the
    history records what its journal proves (an error, or the verdict it reached before its
    evidence could not be written), so no run goes missing from it."""
    journal = run_dir / "journal.jsonl"
    try:
        with open(journal, encoding="utf-8") as handle:
            first = json.loads(handle.readline())
    except (OSError, ValueError):
        return  # no journal of its own: the run never began
    if not isinstance(first, dict) or first.get("run_id") != run_id:
        return  # another run's directory: not this run's to record
    from runner.history import record_run

    record_run(None, run_dir, history)


def _plan_entry(text: str) -> str:
    """argparse type: `QUARTER/ID`, as `drillctl drill run` writes it. Anything else was
    recorded as given: the run counted for no entry of the plan, nor was it shown as a
    drill started by hand."""
    import re

    from runner.history.quarter import Quarter

    quarter, _, entry = text.partition("/")
    try:
        if str(Quarter.parse(quarter)) != quarter:
            raise ValueError(quarter)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected QUARTER/ID, such as 2026Q4/gateway-code"
        ) from None
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", entry):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected QUARTER/ID, such as 2026Q4/gateway-code"
        )
    return text


def _check_pushgateway(gateway: str | None) -> None:
    """A Pushgateway URL that cannot be requested is bad input before the run, not a warning
    after it that the figures went nowhere."""
    from runner.urls import url_problem

    problem = url_problem(gateway) if gateway else None
    if problem:
        raise InputError.at("<command line>", 1, 1, f"--pushgateway: the URL {problem}")


def push_figures(run_dir: Path, gateway: str) -> None:
    """Push the run's figures; a gateway that fails warns and leaves the drill's verdict."""
    from runner.report.pushgateway import PushError, push_run

    try:
        push_run(json.loads((run_dir / "result.json").read_text()), gateway)
    except (PushError, OSError, ValueError) as exc:
        print(f"warning: figures not pushed: {exc}", file=sys.stderr)


def _options(p: argparse.ArgumentParser, *, with_out: bool) -> None:
    """The arguments `run` and `plan` share; `with_out` adds those only a run takes."""
    p.add_argument("playbook", help="the drill playbook (YAML)")
    habits.add_inventory_option(
        p, "inventory file (YAML or Ansible INI); default: localhost", required=False
    )
    p.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="NAME=VALUE|@FILE",
        help="set a variable (highest precedence); repeatable",
    )
    habits.add_limit_option(p)
    p.add_argument("-t", "--tags", action="append", default=[], help="only steps with these tags")
    p.add_argument("--skip-tags", action="append", default=[], help="skip steps with these tags")
    habits.add_run_habits(p, is_run=with_out)
    if with_out:
        p.add_argument(
            "--out", metavar="DIR", help="run directory (default drills/runs/<UTC>-<name>)"
        )
        p.add_argument("--operator", default="", help="who runs the drill (default: login name)")
        p.add_argument("--change-id", default="", help="change ticket this drill is evidence for")
        p.add_argument(
            "--kind",
            choices=["drill", "incident"],
            default="drill",
            help="drill (a rehearsal, the default) or incident (a real rollback run with "
            "drillctl); the quarterly report keeps them apart",
        )
        p.add_argument(
            "--plan-entry",
            type=_plan_entry,
            default=None,
            metavar="QUARTER/ID",
            help="the drill plan entry this run is made for (set by `drillctl drill run`)",
        )
        p.add_argument("-v", "--verbose", action="count", default=0, help="show command output")
        p.add_argument("--check", action="store_true", help="print the plan and touch nothing")
        p.add_argument(
            "--pushgateway",
            metavar="URL",
            default=os.environ.get("DRILLCTL_PUSHGATEWAY"),
            help="push the run's figures to this Prometheus Pushgateway "
            "(default $DRILLCTL_PUSHGATEWAY; see docs/monitoring.md)",
        )
        p.add_argument(
            "--history",
            metavar="PATH|URL",
            help="run history: SQLite file or postgresql:// URL "
            "(default $DRILLCTL_HISTORY or drills/history.db; 'off' records nothing)",
        )
        p.add_argument(
            "--allow-production",
            action="store_true",
            help="allow an inventory marked environment: production (needs --change-id too)",
        )
        p.add_argument(
            "--confirm",
            action="append",
            default=[],
            metavar="ID",
            help="confirm a checklist item by its id (repeatable); on a terminal you are asked",
        )
        p.add_argument(
            "--sign-key",
            metavar="KEY.pem",
            help="sign the journal's head with this ed25519 private key (see drillctl keygen)",
        )
        p.add_argument(
            "--allow-irreversible",
            action="store_true",
            help="allow the deploy of a rollback_type 5 (point of no return) drill",
        )
        p.add_argument(
            "--ignore-unrecovered",
            action="store_true",
            help="run even though the last drill on this inventory died with faults not "
            "reverted (by default refused, exit 3, naming `drillctl recover RUN_DIR`)",
        )


def _run_arguments(p: argparse.ArgumentParser) -> None:
    _options(p, with_out=True)
    habits.add_vault_options(p)


def _plan_arguments(p: argparse.ArgumentParser) -> None:
    _options(p, with_out=False)
    habits.add_vault_options(p)


RUN = Command(
    "run",
    "run a drill",
    description="Run a drill playbook against an inventory: "
    "prepare, deploy, inject, roll back, verify, clean up. Writes journal.jsonl and "
    "result.json (and reports) into a run directory.",
    epilog=habits.RUN_EXAMPLES,
    formatter_class=habits.ExamplesFormatter,
    arguments=_run_arguments,
    handler=run_drill,
)

PLAN = Command(
    "plan",
    "print the resolved plan; run nothing",
    description="Resolve hosts, variables and templates and print every command "
    "each host would run, secrets masked. Nothing is executed.",
    epilog=habits.PLAN_EXAMPLES,
    formatter_class=habits.ExamplesFormatter,
    arguments=_plan_arguments,
    handler=plan_drill,
)
