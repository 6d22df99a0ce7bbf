"""`drillctl postmortem RUN_DIR`: the post-mortem draft of a finished run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from runner.cli.command import Command
from runner.errors import ExitCode, InputError


def write_postmortem(args: argparse.Namespace) -> int:
    """Write the post-mortem draft of a run (default RUN_DIR/postmortem.md)."""
    from runner.journal import JOURNAL_NAME, read_events
    from runner.report.postmortem import render

    run_dir = Path(args.run_dir)
    journal, result_file = run_dir / JOURNAL_NAME, run_dir / "result.json"
    for needed in (journal, result_file):
        if not needed.is_file():
            raise InputError.at(str(needed), 1, 1, "missing: give the directory of a finished run")
    try:
        result = json.loads(result_file.read_text())
    except (OSError, ValueError) as exc:
        raise InputError.at(str(result_file), 1, 1, f"cannot read result.json: {exc}") from None
    target = Path(args.out) if args.out else run_dir / "postmortem.md"
    target.write_text(render(result, list(read_events(journal)), str(run_dir)))
    print(f"post-mortem draft: {target}")
    return ExitCode.PASSED


def _arguments(pm: argparse.ArgumentParser) -> None:
    pm.add_argument("run_dir")
    pm.add_argument("--out", metavar="FILE", help="where to write (default RUN_DIR/postmortem.md)")


POSTMORTEM = Command(
    "postmortem",
    "write the post-mortem draft of a run (the procedures' agenda, pre-filled)",
    description="Write RUN_DIR/postmortem.md (or --out FILE): the post-mortem agenda of the "
    "rollback procedures, with the timeline review taken from the run's journal, what "
    "happened, the trigger, decision and figures, and empty tables for the 5 whys and the "
    "action items.",
    epilog="example: drillctl postmortem drills/runs/20261121T101500Z-quickstart",
    arguments=_arguments,
    handler=write_postmortem,
)
