"""`drillctl quarterly` and `drillctl metrics`: reports over the run history."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.cli.command import Command
from runner.cli.history import add_history_option, parse_quarter
from runner.errors import ExitCode, InputError

if TYPE_CHECKING:
    from runner.history.quarter import Quarter

_FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".json": "json"}


def write_output(text: str, out: str | None) -> None:
    """To stdout, or atomically to `out` (a reader sees the old file or the whole new one)."""
    if out is None:
        print(text, end="")
        return
    path = Path(out)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError.at(out, 1, 1, f"cannot write the report: {exc.strerror}") from None


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return _FORMATS.get(Path(args.out).suffix.lower(), "md") if args.out else "md"


def _plan_status(plan_arg: str | None, quarter: Quarter, runs: list[Any]) -> list[Any] | None:
    from datetime import datetime, timezone

    from runner.plans.model import load_plan
    from runner.plans.status import plan_status

    path = plan_arg or f"drills/{quarter}.yml"
    if plan_arg is None and not Path(path).is_file():
        return None
    plan = load_plan(path, check_files=False)
    if plan.quarter != quarter:
        raise InputError.at(path, 1, 1, f"this plan is for {plan.quarter}, not {quarter}")
    return plan_status(plan, runs, datetime.now(timezone.utc).date())


def quarterly_report(args: argparse.Namespace) -> int:
    """The quarter's report, as html, md or json, to stdout or --out."""
    from runner.history.access import read_runs
    from runner.report import quarterly

    quarter = parse_quarter(args.quarter)
    assert quarter is not None
    runs = read_runs(args.history, quarter)
    previous = read_runs(args.history, quarter.previous())
    plan = _plan_status(args.plan, quarter, runs)
    # Links to each failed drill's report.html are relative to where this report is read.
    base = Path(args.out).resolve().parent if args.out else Path.cwd()
    report = quarterly.build(quarter, runs, previous, plan=plan, link_base=base)
    fmt = _format(args)
    if fmt == "json":
        text = json.dumps(quarterly.to_json(report), indent=2) + "\n"
    elif fmt == "html":
        from runner.report import quarterly_html  # only the asked format's renderer loads

        text = quarterly_html.render(report)
    else:
        from runner.report import quarterly_md

        text = quarterly_md.render(report)
    write_output(text, args.out)
    return ExitCode.PASSED


def metrics_text(args: argparse.Namespace) -> int:
    """The run history as Prometheus text, to stdout or --out."""
    from runner.history.access import read_runs
    from runner.report.metrics import render_prometheus

    quarter = parse_quarter(args.quarter)
    runs = read_runs(args.history, quarter)
    write_output(render_prometheus(runs, None if quarter is None else str(quarter)), args.out)
    return ExitCode.PASSED


def _quarterly_arguments(q: argparse.ArgumentParser) -> None:
    q.add_argument("quarter", help="e.g. 2026Q4 (quarters are UTC)")
    q.add_argument("--format", choices=["html", "md", "json"], help="default: from --out, else md")
    q.add_argument("--plan", help="drill plan (default drills/<QUARTER>.yml when it exists)")
    q.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")
    add_history_option(q)


def _metrics_arguments(m: argparse.ArgumentParser) -> None:
    m.add_argument("--format", choices=["prometheus"], default="prometheus")
    m.add_argument("--quarter", help="only this quarter's runs (adds a quarter label)")
    m.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")
    add_history_option(m)


QUARTERLY = Command(
    "quarterly",
    "the quarterly rollback report (html, md, json)",
    description="Drills planned vs run, and per component: RTO/RPO attainment, p50/p90/max "
    "of the time to detect, decide, roll back and recover, rollback success, data-loss "
    "incidents and repeat rollbacks, against the rollback procedures' targets and the "
    "previous quarter; real incidents (run --kind incident) apart from drills; voided runs "
    "listed, not counted. Failed runs link to their evidence. States when and by which "
    "drillctl version it was made.",
    epilog="example:\n  drillctl quarterly 2026Q4 --format html --out drills/2026Q4.html",
    formatter_class=argparse.RawDescriptionHelpFormatter,
    arguments=_quarterly_arguments,
    handler=quarterly_report,
)

METRICS = Command(
    "metrics",
    "rollback metrics in Prometheus text format",
    description="Prometheus text exposition of the run history, for node_exporter's "
    "textfile collector (write it with --out DIR/drillctl.prom; the file is replaced "
    "atomically).",
    arguments=_metrics_arguments,
    handler=metrics_text,
)
