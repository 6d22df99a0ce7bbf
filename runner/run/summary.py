"""The closing lines of a run: verdict, recovery figures, where the evidence is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.durations import format_duration
from runner.engine.outcome import DrillOutcome
from runner.measure.figures import DrillFigures
from runner.playbook.model import Playbook
from runner.results.verdict import verdict_of
from runner.run.console import TerminalView

MAX_ISSUES_SHOWN = 10

_STYLE = {
    "passed": "bold green",
    "failed": "bold red",
    "error": "bold red",
    "interrupted": "bold yellow",
}


def rpo_lower_bound(figures: DrillFigures) -> bool:
    return any(d.rpo_lower_bound for d in figures.data)


def print_summary(
    view: TerminalView, outcome: DrillOutcome, run_dir: Path, playbook: Playbook
) -> None:
    rollback = outcome.phase("rollback")
    result = _result(run_dir)
    view.say("")
    view.say(f"{outcome.status.upper()}: {outcome.reason}", _STYLE[outcome.status])
    if result is not None:
        _issues(view, result)
    if rollback is not None:
        budget = playbook.budget_s
        limit = (
            f" (type {playbook.rollback_type} budget {format_duration(budget)})" if budget else ""
        )
        # As result.json has it: a rollback that did nothing has no time to roll back.
        took = _figure(result, "time_to_rollback_s", rollback.duration_s)
        view.say(f"  time to roll back  {format_duration(took)}{limit}")
    figures = outcome.figures
    if figures is not None:
        measured = figures.as_result()
        for label, key in (("measured RTO", "rto_s"), ("downtime", "downtime_s"), ("RPO", "rpo_s")):
            shown = format_duration(measured[key])
            if key == "rpo_s" and measured[key] is not None and rpo_lower_bound(figures):
                shown = "≥ " + shown  # the true RPO is at least this (docs/result-json.md)
            view.say(f"  {label:<17} {shown}")
        lost = measured["lost_writes"]
        view.say(f"  lost writes       {'n/a' if lost is None else lost}")
        for probe, cmp in figures.baseline:
            if cmp.slower and cmp.median_before_s and cmp.median_after_s:
                view.say(
                    f"  NOT BACK TO BASELINE ({probe}): median latency "
                    f"{cmp.median_before_s * 1000:.1f} ms before the change, "
                    f"{cmp.median_after_s * 1000:.1f} ms after the rollback (p={cmp.p_value:.2g})",
                    "bold yellow",
                )
    view.say(f"  run took          {format_duration(outcome.ended_mono - outcome.started_mono)}")
    for name in ("report.html", "report.md", "result.json", "journal.jsonl"):
        if (run_dir / name).exists():
            view.say(f"  report: {run_dir / name}")
            break
    view.say(f"  evidence: {run_dir}")


def _result(run_dir: Path) -> dict[str, Any] | None:
    """The result.json the reports were made from; None when it cannot be read (the journal
    is the evidence then, and the verdict line says why)."""
    try:
        result = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def _figure(result: dict[str, Any] | None, key: str, own: float | None) -> float | None:
    """result.json's figure (null stays null); `own`, the runner's, when it has none."""
    measured = (result or {}).get("measured")
    if not isinstance(measured, dict) or key not in measured:
        return own
    value = measured[key]
    return float(value) if isinstance(value, (int, float)) else None


def _issues(view: TerminalView, result: dict[str, Any]) -> None:
    """The issues every report lists, read from the result.json the reports were made from."""
    verdict = verdict_of(result)
    # The reason is the line above. On a passed run a failed change step is what started the
    # rollback, shown as it ran; objectives (one not measured, say) are always worth a line.
    issues = [
        i
        for i in verdict.issues
        if i.kind == "objective" or (i.kind != "run" and not verdict.passed)
    ]
    for issue in issues[:MAX_ISSUES_SHOWN]:
        view.say(f"  issue: {issue.text}", "yellow")
    if len(issues) > MAX_ISSUES_SHOWN:
        view.say(f"  … and {len(issues) - MAX_ISSUES_SHOWN} more issues (see report.html)")
