"""The closing lines of a run: verdict, recovery figures, where the evidence is."""

from __future__ import annotations

from pathlib import Path

from runner.console import TerminalView
from runner.durations import format_duration
from runner.engine.drill import DrillOutcome
from runner.playbook.model import Playbook

_STYLE = {
    "passed": "bold green",
    "failed": "bold red",
    "error": "bold red",
    "interrupted": "bold yellow",
}


def print_summary(
    view: TerminalView, outcome: DrillOutcome, run_dir: Path, playbook: Playbook
) -> None:
    rollback = outcome.phase("rollback")
    view.say("")
    view.say(f"{outcome.status.upper()}: {outcome.reason}", _STYLE[outcome.status])
    if rollback is not None:
        budget = playbook.budget_s
        limit = (
            f" (type {playbook.rollback_type} budget {format_duration(budget)})" if budget else ""
        )
        view.say(f"  time to roll back  {format_duration(rollback.duration_s)}{limit}")
    view.say(f"  run took          {format_duration(outcome.ended_mono - outcome.started_mono)}")
    for name in ("report.html", "report.md", "result.json", "journal.jsonl"):
        if (run_dir / name).exists():
            view.say(f"  report: {run_dir / name}")
            break
    view.say(f"  evidence: {run_dir}")
