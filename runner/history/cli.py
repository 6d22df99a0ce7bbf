"""`drillctl history list|show|import|void`, and recording each finished run.

The history lives in `drills/history.db` under the current directory unless `--history`
(or the DRILLCTL_HISTORY environment variable) names another SQLite file or a
`postgresql://` URL.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from runner.errors import Diagnostic, ExitCode, InputError
from runner.history.quarter import Quarter
from runner.history.rows import RunRow
from runner.history.store import DEFAULT_HISTORY, HistoryStore, open_store
from runner.report.markdown import format_seconds

ENV_HISTORY = "DRILLCTL_HISTORY"
# DRILLCTL_HISTORY=off: do not record (`drill run` records its runs itself).
_OFF = frozenset({"off", "none", "no"})


def history_target(explicit: str | None) -> str:
    return explicit or os.environ.get(ENV_HISTORY) or str(DEFAULT_HISTORY)


def open_for_reading(explicit: str | None) -> HistoryStore | None:
    """The history to read, or None when the default-style SQLite file does not exist yet
    (reading must not create it: an empty history simply has no runs)."""
    target = history_target(explicit)
    if "://" not in target and not Path(target).exists():
        return None
    return open_store(target)


def read_runs(
    explicit: str | None, quarter: Quarter | None = None, component: str | None = None
) -> list[RunRow]:
    store = open_for_reading(explicit)
    if store is None:
        return []
    with store:
        return store.runs(quarter, component)


def parse_quarter(text: str | None) -> Quarter | None:
    if text is None:
        return None
    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise InputError.at("<command line>", 1, 1, str(exc)) from None


def record_run(result: dict[str, Any] | None, run_dir: Path, history: str | None) -> bool:
    """Record a finished run; never fails the drill. False (with a warning) if not recorded.

    `result` None reads the run directory (result.json, or the journal if that is damaged).
    """
    target = history_target(history)
    if target.strip().lower() in _OFF:
        return False
    try:
        with open_store(target) as store:
            if result is None:
                store.import_run(run_dir)
            else:
                store.record(result, run_dir)
    except Exception as exc:  # the evidence is on disk; the history can be rebuilt from it
        print(
            f"drillctl: warning: the run is not in the history ({target}): {exc}\n"
            f"  record it later with: drillctl history import {run_dir}",
            file=sys.stderr,
        )
        return False
    return True


def add_history_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        metavar="PATH|URL",
        help=f"SQLite file or postgresql:// URL (default ${ENV_HISTORY} or {DEFAULT_HISTORY})",
    )


def register(subparsers: Any) -> None:
    """Add `history` (list, show, import) to drillctl's subcommands."""
    history = subparsers.add_parser(
        "history",
        help="the run history: list, show, import and void runs",
        description="Every `drillctl run` is recorded in the run history (SQLite by default, "
        "or PostgreSQL). List and show recorded runs, or import run directories: from their "
        "result.json, or rebuilt from journal.jsonl when that is missing or damaged.",
    )
    sub = history.add_subparsers(
        dest="history_command", metavar="ACTION", parser_class=type(history)
    )
    sub.required = True
    ls = sub.add_parser("list", help="list recorded runs, oldest first")
    ls.add_argument("--quarter", help="only this quarter, e.g. 2026Q4 (UTC)")
    ls.add_argument("--component", help="only this component")
    ls.add_argument("--format", choices=["text", "json"], default="text")
    add_history_option(ls)
    ls.set_defaults(handler=history_list)
    show = sub.add_parser("show", help="one recorded run")
    show.add_argument("run_id")
    show.add_argument("--format", choices=["text", "json"], default="text")
    add_history_option(show)
    show.set_defaults(handler=history_show)
    imp = sub.add_parser(
        "import",
        help="record run directories (rebuilt from the journal if result.json is lost)",
        description="Record each RUN_DIR; a run already recorded is replaced (idempotent). "
        "A journal whose hash chain is broken is refused.",
    )
    imp.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    add_history_option(imp)
    imp.set_defaults(handler=history_import)
    void = sub.add_parser(
        "void",
        help="take a run out of every figure, with the reason (it stays listed)",
        description="Mark a recorded run void: a drill run against the wrong lab, a test of "
        "drillctl itself. The run and its evidence stay in the history and are listed in the "
        "quarterly report with who voided it, when and why; no figure, plan status or metric "
        "counts it. A run is voided once.",
    )
    void.add_argument("run_id")
    void.add_argument("--reason", required=True, help="why the run does not count")
    void.add_argument("--by", default="", help="who decides (default: login name)")
    add_history_option(void)
    void.set_defaults(handler=history_void)


def _s(value: float | None) -> str:
    return "—" if value is None else format_seconds(value)


def history_list(args: argparse.Namespace) -> int:
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
    import getpass

    store = open_for_reading(args.history)
    if store is None:
        where = history_target(args.history)
        raise InputError.at("<command line>", 1, 1, f"no run {args.run_id!r} in {where}")
    with store:
        row = store.void(args.run_id, args.reason, args.by or getpass.getuser())
    print(f"voided: {row.run_id} ({row.status}) at {row.voided_at} by {row.voided_by}")
    return ExitCode.PASSED


def history_import(args: argparse.Namespace) -> int:
    problems: list[Diagnostic] = []
    with open_store(history_target(args.history)) as store:
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
