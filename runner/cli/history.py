"""`drillctl history list|show|import|void`: the run history (runner.history.access says
which one a command uses), and the options every command reading it shares."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from runner.cli.command import Command
from runner.errors import Diagnostic, ExitCode, InputError

if TYPE_CHECKING:
    from runner.history.quarter import Quarter


def parse_quarter(text: str | None) -> Quarter | None:
    """A --quarter given on the command line (2026Q4), or bad input located there."""
    from runner.history.quarter import Quarter

    if text is None:
        return None
    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise InputError.at("<command line>", 1, 1, str(exc)) from None


def add_history_option(parser: argparse.ArgumentParser) -> None:
    """`--history PATH|URL`, for every command that reads or records the run history."""
    from runner.history.access import ENV_HISTORY
    from runner.history.store import DEFAULT_HISTORY

    parser.add_argument(
        "--history",
        metavar="PATH|URL",
        help=f"SQLite file or postgresql:// URL (default ${ENV_HISTORY} or {DEFAULT_HISTORY})",
    )


def _s(value: float | None) -> str:
    from runner.report.markdown import format_seconds

    return "—" if value is None else format_seconds(value)


def history_list(args: argparse.Namespace) -> int:
    """The recorded runs as a table (oldest first) or JSON."""
    from runner.history.access import read_runs

    runs = read_runs(args.history, parse_quarter(args.quarter), args.component)
    if args.format == "json":
        print(json.dumps([r.__dict__ for r in runs], indent=2))
        return ExitCode.PASSED
    header = ("RUN", "STARTED (UTC)", "COMPONENT", "STATUS", "ROLL BACK", "RTO", "LOST")
    rows = [
        (
            r.run_id,
            (r.started_at or "")[:16].replace("T", " "),
            r.component or "—",
            r.status
            + (" (incident)" if r.kind == "incident" else "")
            + (" VOID" if r.voided else ""),
            _s(r.time_to_rollback_s),
            _s(r.rto_s),
            "—" if r.lost_writes is None else str(r.lost_writes),
        )
        for r in runs
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(f"{len(runs)} run{'s' if len(runs) != 1 else ''}", file=sys.stderr)
    return ExitCode.PASSED


def history_show(args: argparse.Namespace) -> int:
    """One recorded run, field by field or as its result.json."""
    from runner.history.access import history_target, open_for_reading

    store = open_for_reading(args.history)
    stored = None
    if store is not None:
        with store:
            stored = store.get(args.run_id)
    if stored is None:
        where = history_target(args.history)
        raise InputError.at("<command line>", 1, 1, f"no run {args.run_id!r} in {where}")
    if args.format == "json":
        print(json.dumps(stored.result, indent=2))
        return ExitCode.PASSED
    r = stored.row
    fields = [
        ("run", r.run_id),
        ("drill", r.drill),
        ("component", r.component or "—"),
        ("status", f"{r.status}: {r.reason or ''}"),
        ("started", r.started_at or "—"),
        ("environment", r.environment or "—"),
        ("change", r.change_id or "—"),
        ("trigger", f"{r.trigger_kind}: {r.trigger_detail or ''}" if r.trigger_kind else "—"),
        ("time to detect", _s(r.time_to_detect_s)),
        ("time to decide", _s(r.time_to_decide_s)),
        ("time to roll back", _s(r.time_to_rollback_s)),
        (
            "measured RTO",
            f"{_s(r.rto_s)} (objective {_s(r.objective_rto_s)}, {r.verdict_rto or '—'})",
        ),
        ("lost writes", "—" if r.lost_writes is None else str(r.lost_writes)),
        ("kind", r.kind),
        ("voided", f"{r.voided_at} by {r.voided_by}: {r.void_reason}" if r.voided else "no"),
        ("plan entry", r.plan_entry or "—"),
        ("recorded from", r.source),
        ("evidence", r.run_dir or "—"),
    ]
    for name, value in fields:
        print(f"{name:<18} {value}")
    return ExitCode.PASSED


def history_void(args: argparse.Namespace) -> int:
    """Take a run out of every figure, keeping it listed with who, when and why."""
    import getpass

    from runner.history.access import history_target, open_for_reading

    store = open_for_reading(args.history)
    if store is None:
        where = history_target(args.history)
        raise InputError.at("<command line>", 1, 1, f"no run {args.run_id!r} in {where}")
    with store:
        row = store.void(args.run_id, args.reason, args.by or getpass.getuser())
    print(f"voided: {row.run_id} ({row.status}) at {row.voided_at} by {row.voided_by}")
    return ExitCode.PASSED


def history_import(args: argparse.Namespace) -> int:
    """Record run directories; each is replaced if already recorded."""
    from runner.history.access import check_history_target
    from runner.history.store import open_store

    problems: list[Diagnostic] = []
    with open_store(check_history_target(args.history)) as store:
        for raw in args.run_dirs:
            try:
                row, outcome = store.import_run(Path(raw))
            except InputError as exc:
                problems.extend(exc.diagnostics)
                continue
            how = "rebuilt from its journal" if row.source == "journal" else "from result.json"
            print(f"{outcome}: {row.run_id} ({row.status}, {how})")
    if problems:
        raise InputError(problems)
    return ExitCode.PASSED


def _list_arguments(ls: argparse.ArgumentParser) -> None:
    ls.add_argument("--quarter", help="only this quarter, e.g. 2026Q4 (UTC)")
    ls.add_argument("--component", help="only this component")
    ls.add_argument("--format", choices=["text", "json"], default="text")
    add_history_option(ls)


def _show_arguments(show: argparse.ArgumentParser) -> None:
    show.add_argument("run_id")
    show.add_argument("--format", choices=["text", "json"], default="text")
    add_history_option(show)


def _import_arguments(imp: argparse.ArgumentParser) -> None:
    imp.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    add_history_option(imp)


def _void_arguments(void: argparse.ArgumentParser) -> None:
    void.add_argument("run_id")
    void.add_argument("--reason", required=True, help="why the run does not count")
    void.add_argument("--by", default="", help="who decides (default: login name)")
    add_history_option(void)


HISTORY = Command(
    "history",
    "the run history: list, show, import RUN_DIR",
    description="Every `drillctl run` is recorded in the run history (SQLite by default, "
    "or PostgreSQL). List and show recorded runs, or import run directories: from their "
    "result.json, or rebuilt from journal.jsonl when that is missing or damaged.",
    subcommands=(
        Command(
            "list",
            "list recorded runs, oldest first",
            arguments=_list_arguments,
            handler=history_list,
        ),
        Command("show", "one recorded run", arguments=_show_arguments, handler=history_show),
        Command(
            "import",
            "record run directories (rebuilt from the journal if result.json is lost)",
            description="Record each RUN_DIR; a run already recorded is replaced (idempotent). "
            "A journal whose hash chain is broken is refused.",
            arguments=_import_arguments,
            handler=history_import,
        ),
        Command(
            "void",
            "take a run out of every figure, with the reason (it stays listed)",
            description="Mark a recorded run void: a drill run against the wrong lab, a test "
            "of drillctl itself. The run and its evidence stay in the history and are listed "
            "in the quarterly report with who voided it, when and why; no figure, plan status "
            "or metric counts it. A run is voided once.",
            arguments=_void_arguments,
            handler=history_void,
        ),
    ),
)
