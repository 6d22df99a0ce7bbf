"""`drillctl postmortem RUN_DIR`: the procedures' post-mortem agenda, pre-filled from a run.

Every rollback gets a post-mortem with a timeline review. The draft takes its timeline from
the journal itself (one row per event that tells the story, at the time the journal wrote it),
and what happened, the trigger, the decision and the figures from result.json, through the
same verdict every report uses; the questions only people can answer, and the action items,
are left for the meeting to fill in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from runner.journal_events import Event
from runner.report.markdown import format_seconds, objective_rows
from runner.results.verdict import verdict_of


@dataclass(frozen=True)
class TimelineRow:
    """One moment of the run, as the journal recorded it."""

    seq: int
    time: str
    event: str
    what: str


def _phase_what(e: dict[str, Any]) -> str:
    if e["event"] == Event.PHASE_STARTED:
        return f"{e.get('phase')} begins"
    if e["event"] == Event.PHASE_SKIPPED:
        return f"{e.get('phase')} skipped: {e.get('reason')}"
    took = format_seconds(e.get("duration_s"))
    return f"{e.get('phase')} ends: {e.get('status')} after {took}"


def _step_what(e: dict[str, Any]) -> str | None:
    if e.get("status") in ("ok", "skipped"):
        return None  # the timeline keeps what went wrong; report.html lists every step
    return f"step {e.get('step')!r} ({e.get('phase')}): {e.get('status')}"


_DESCRIBE: dict[str, Any] = {
    Event.RUN_STARTED: lambda e: f"drill starts (operator {e.get('operator') or 'unknown'})",
    Event.PHASE_STARTED: _phase_what,
    Event.PHASE_SKIPPED: _phase_what,
    Event.PHASE_FINISHED: _phase_what,
    Event.STEP_FINISHED: _step_what,
    Event.FAULT_INJECTED: lambda e: f"fault {e.get('kind')} injected on {e.get('host')}",
    Event.FAULT_REVERTED: lambda e: f"fault {e.get('fault_id')} reverted and checked",
    Event.FAULT_REVERT_FAILED: lambda e: (
        f"fault {e.get('fault_id')} NOT reverted: {e.get('detail')}"
    ),
    Event.TRIGGER_FIRED: lambda e: (
        f"rollback triggered ({e.get('kind')}): {e.get('detail') or ''}".rstrip(": ")
    ),
    Event.DECISION_REQUESTED: lambda e: (
        "rollback waits for "
        f"{e.get('approvers') or 1} approval(s), at most {format_seconds(e.get('timeout_s'))}"
    ),
    Event.DECISION: lambda e: (
        f"decided: {e.get('decision')} ({e.get('mode')}"
        + (f", approved by {e.get('approved_by')}" if e.get("approved_by") else "")
        + (", timed out" if e.get("timed_out") else "")
        + ")"
    ),
    Event.INTERRUPT_RECEIVED: lambda e: f"{e.get('signal')} received during {e.get('phase')}",
    Event.PROBE_FAILED: lambda e: f"probe {e.get('probe')} stopped working: {e.get('error')}",
    Event.RUN_FINISHED: lambda e: f"drill ends: {e.get('status')} ({e.get('reason')})",
    Event.INTERRUPTED: lambda e: f"drill interrupted: {e.get('reason')}",
}


def timeline(events: Iterable[dict[str, Any]]) -> list[TimelineRow]:
    """The rows of the timeline review: the journal's telling events, in journal order."""
    rows = []
    for e in events:
        describe = _DESCRIBE.get(str(e.get("event")))
        what = describe(e) if describe else None
        if what:
            rows.append(TimelineRow(int(e["seq"]), str(e["time"]), str(e["event"]), what))
    return rows


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(result: dict[str, Any], events: list[dict[str, Any]], run_dir: str) -> str:
    """The post-mortem draft as Markdown."""
    verdict = verdict_of(result)
    trigger = result.get("trigger") or {}
    rolled_back = result.get("rolled_back")
    smooth = result.get("rollback_succeeded")
    budget = next((r for r in objective_rows(result) if r.key == "budget"), None)
    lines = [
        f"# Post-mortem (draft): {result.get('drill')}",
        "",
        f"Run `{result.get('run_id')}` · component `{result.get('component') or '—'}` · "
        f"environment `{result.get('environment') or '—'}` · change "
        f"`{result.get('change_id') or '—'}` · operator `{result.get('operator') or '—'}` · "
        f"started {result.get('started_at')} · evidence: `{run_dir}`",
        "",
        f"**Outcome:** {verdict.status.upper()}"
        + (f": {verdict.reason}" if verdict.reason else "")
        + f" · final validation: {verdict.final_validation}",
        "",
        "Hold this review within 48 hours of the rollback, with the deployment team, the",
        "incident commander, operations, the business stakeholders and a CAB representative.",
        "",
        "## 1. Timeline review",
        "",
        "From the run's journal (`drillctl verify` checks it); times are UTC.",
        "",
        "| # | time | what happened |",
        "|---:|---|---|",
    ]
    lines += [f"| {r.seq} | {r.time} | {_cell(r.what)} |" for r in timeline(events)]
    lines += [
        "",
        "## 2. What happened?",
        "",
        f"- Reason recorded by the run: {result.get('reason') or '—'}",
        f"- What started the rollback: {trigger.get('kind') or 'nothing'}"
        + (f" in {trigger.get('phase')}" if trigger.get("phase") else "")
        + (f": {trigger.get('detail')}" if trigger.get("detail") else ""),
        "",
        "| figure | objective | measured | verdict |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r.label} | {r.objective} | {r.measured} | {r.verdict or '—'} |"
        for r in objective_rows(result)
    ]
    lines += ["", "Issues found by the run:", ""]
    lines += [f"- {_cell(i.text)}" for i in verdict.issues] or ["- none"]
    lines += [
        "",
        "## 3. Why did it happen?",
        "",
        "_To fill in._",
        "",
        "## 4. Why wasn't it caught earlier?",
        "",
        "_To fill in._",
        "",
        "## 5. Was the rollback smooth?",
        "",
        "- Rolled back: "
        + ("yes" if rolled_back else "no")
        + (
            ""
            if not rolled_back
            else f"; every rollback step succeeded: {'yes' if smooth else 'no'}"
        ),
        f"- Time to roll back against the budget: "
        f"{budget.measured if budget else '—'} ({budget.verdict or 'not judged'})"
        if budget
        else "- Time to roll back: not measured",
        "",
        "## 6. What went well?",
        "",
        "_To fill in._",
        "",
        "## 7. What could be improved?",
        "",
        "_To fill in._",
        "",
        "## 8. Root cause (5 whys)",
        "",
        *[f"{n}. Why? _To fill in._" for n in range(1, 6)],
        "",
        "## 9. Action items",
        "",
        "| description | owner | due date | priority | success criteria |",
        "|---|---|---|---|---|",
        *["|  |  |  |  |  |" for _ in range(3)],
        "",
    ]
    return "\n".join(lines)
