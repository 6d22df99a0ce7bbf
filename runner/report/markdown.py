"""`report.md`: the short drill summary for PR comments and `$GITHUB_STEP_SUMMARY`.

Also home of the figures every drill report shows the same way (objective rows, durations,
failed steps), so the Markdown, HTML and JUnit reports never disagree.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from runner.report.provenance_view import provenance_items
from runner.results.verdict import FAILING, verdict_of
from runner.results.verdict import NOT_MEASURED as NOT_MEASURED
from runner.secrets import MASK

MAX_FAILURES_LISTED = 10
_MAX_CELL = 160

STATUS_BANNER = {
    "passed": "✅ PASSED",
    "failed": "❌ FAILED",
    "error": "⚠️ ERROR",
    "interrupted": "⏹️ INTERRUPTED",
}
VERDICT_MARK = {"met": "✅ met", "missed": "❌ missed", "not measured": "❌ not measured"}


@dataclass(frozen=True)
class ObjectiveRow:
    """One line of "objective vs measured"; `key` is stable (rto, rpo, budget, …)."""

    key: str
    label: str
    objective: str
    measured: str
    verdict: str | None  # 'met' | 'missed' | 'not measured' | None (no objective)
    measured_known: bool

    @property
    def verdict_text(self) -> str:
        if self.verdict in VERDICT_MARK:
            return self.verdict
        return NOT_MEASURED if not self.measured_known else "—"


def format_seconds(value: Any) -> str:
    """A duration for people: `0.41 s`, `42.0 s`, `5 min`, `6 min 02 s`, `1 h 05 min`."""
    if value is None:
        return NOT_MEASURED
    s = float(value)
    if s < 10:
        return f"{s:.2f} s"
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        minutes, rest = divmod(round(s), 60)
        return f"{minutes} min" if rest == 0 else f"{minutes} min {rest:02d} s"
    hours, rest = divmod(round(s) // 60, 60)
    return f"{hours} h" if rest == 0 else f"{hours} h {rest:02d} min"


LOWER_BOUND = "≥ "


def rpo_is_lower_bound(result: dict[str, Any]) -> bool:
    """The measured RPO is only a lower bound when any data probe's figure is one: the true
    RPO is at least the figure shown (see docs/result-json.md)."""
    data = result.get("data") or []
    return any(isinstance(d, dict) and d.get("rpo_lower_bound") is True for d in data)


def _limit(value: Any) -> str:
    return "none set" if value is None else format_seconds(value)


def objective_rows(result: dict[str, Any]) -> list[ObjectiveRow]:
    """Objectives vs measured figures; a figure that was not measured says so, never 0."""
    objectives = result.get("objectives") or {}
    measured = result.get("measured") or {}
    verdicts = result.get("verdicts") or {}
    rtype = result.get("rollback_type")
    budget = result.get("budget_s")
    budget_text = "no rollback (fix forward)" if rtype == 5 else _limit(budget)
    lost = measured.get("lost_writes")

    def row(key: str, label: str, objective: str, figure: Any, verdict: Any = None) -> ObjectiveRow:
        shown = NOT_MEASURED if figure is None else format_seconds(figure)
        if figure is not None and key == "rpo" and rpo_is_lower_bound(result):
            shown = LOWER_BOUND + shown
        return ObjectiveRow(key, label, objective, shown, verdict, figure is not None)

    return [
        row(
            "rto",
            "RTO",
            _limit(objectives.get("rto_s")),
            measured.get("rto_s"),
            verdicts.get("rto"),
        ),
        row(
            "rpo",
            "RPO",
            _limit(objectives.get("rpo_s")),
            measured.get("rpo_s"),
            verdicts.get("rpo"),
        ),
        row(
            "budget",
            f"Time to roll back (type {rtype} budget)",
            budget_text,
            measured.get("time_to_rollback_s"),
            verdicts.get("budget"),
        ),
        row("detect", "Time to detect", "—", measured.get("time_to_detect_s")),
        row("decide", "Time to decide", "—", measured.get("time_to_decide_s")),
        row("downtime", "Downtime", "—", measured.get("downtime_s")),
        ObjectiveRow(
            "lost_writes",
            "Lost writes",
            "—",
            NOT_MEASURED if lost is None else str(lost),
            None,
            lost is not None,
        ),
    ]


def failed_steps(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Step-and-host records whose status fails the step, in run order."""
    return [s for s in result.get("steps") or [] if s.get("status") in FAILING]


def step_counts(result: dict[str, Any]) -> dict[str, int]:
    """Step runs per status, in a fixed reading order (ok first, skipped last)."""
    counts = Counter(str(s.get("status", "?")) for s in result.get("steps") or [])
    order = ["ok", "ignored", *FAILING, "skipped"]
    ranked = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))
    return {k: counts[k] for k in ranked}


def trigger_text(trigger: dict[str, Any] | None) -> str:
    """`step_failed in deploy / install [web1]: rc 1`, or '' without a trigger."""
    if not trigger:
        return ""
    text = str(trigger.get("kind", "trigger"))
    where = " / ".join(str(trigger[k]) for k in ("phase", "step") if trigger.get(k))
    if where:
        text += f" in {where}"
    if trigger.get("host"):
        text += f" [{trigger['host']}]"
    if trigger.get("detail"):
        text += f": {trigger['detail']}"
    return text


def _md(text: Any, limit: int = _MAX_CELL) -> str:
    """One line of inline Markdown that cannot break a table or inject HTML."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    # A masked secret stays readable as one literal token, not eight escaped asterisks.
    return f"`{MASK}`".join(
        re.sub(r"([\\`*_\[\]|])", r"\\\1", html.escape(part, quote=False))
        for part in flat.split(MASK)
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render(result: dict[str, Any]) -> str:
    """The drill summary in GitHub-flavoured Markdown, under 60 lines whatever the run size."""
    status = str(result.get("status", "error"))
    banner = STATUS_BANNER.get(status, f"❔ {_md(status.upper())}")
    lines = [f"## {banner} — {_md(result.get('drill', 'drill'))}", ""]
    if result.get("reason"):
        lines += [f"**Reason:** {_md(result['reason'], 400)}", ""]

    lines += _table(
        ["Figure", "Objective", "Measured", "Verdict"],
        [
            [r.label, r.objective, r.measured, VERDICT_MARK.get(r.verdict or "", r.verdict_text)]
            for r in objective_rows(result)
        ],
    )
    rolled = "no"
    if result.get("rolled_back"):
        rolled = "yes, succeeded" if result.get("rollback_succeeded") else "yes, **failed**"
    trigger = trigger_text(result.get("trigger"))
    lines += [
        "",
        f"**Rolled back:** {rolled}" + (f" · **Trigger:** {_md(trigger)}" if trigger else ""),
    ]
    items = result.get("checklists") or []
    if items:
        done = sum(1 for i in items if i.get("state") in ("ticked", "confirmed"))
        open_ids = [
            str(i.get("id")) for i in items if i.get("state") not in ("ticked", "confirmed")
        ]
        pending = f" · open or failed: {_md(', '.join(open_ids[:8]), 200)}" if open_ids else ""
        lines += ["", f"**Checklists:** {done}/{len(items)} done{pending}"]

    phases = result.get("phases") or []
    if phases:
        lines += ["", "### Phases", ""]
        lines += _table(
            ["Phase", "Status", "Duration"],
            [
                [
                    _md(p.get("phase", "?")),
                    _md(p.get("status", "?"))
                    + (f" ({_md(p['skipped_reason'], 60)})" if p.get("skipped_reason") else ""),
                    "—" if p.get("status") == "skipped" else format_seconds(p.get("duration_s")),
                ]
                for p in phases
            ],
        )

    counts = step_counts(result)
    total = sum(counts.values())
    summary = " · ".join(f"{n} {_md(s)}" for s, n in counts.items())
    lines += [
        "",
        "### Steps",
        "",
        f"{total} step runs (one per step and host)" + (f": {summary}" if summary else ""),
    ]
    lines += ["", "### Issues found", ""]
    issues = verdict_of(result).issues
    others = [i for i in issues if i.kind != "step"]
    if not issues:
        lines.append("None.")
    # Every objective and the run's reason; failed steps up to a limit (report.html has all).
    lines += [f"- {_md(i.text, 400)}" for i in others[:MAX_FAILURES_LISTED]]
    if len(others) > MAX_FAILURES_LISTED:
        lines.append(f"- … and {len(others) - MAX_FAILURES_LISTED} more (see report.html)")
    failures = failed_steps(result)  # the verdict's step issues, one per step and host
    if failures:
        shown = failures[:MAX_FAILURES_LISTED]
        # A list may follow its lead-in line directly (CommonMark): one line less in a PR.
        lines += ["", f"**Failed** ({len(shown)} of {len(failures)}):"]
        for s in shown:
            rc = f" (rc {s['rc']})" if s.get("rc") is not None else ""
            msg = f": {_md(s['msg'])}" if s.get("msg") else ""
            lines.append(
                f"- {_md(s.get('phase', '?'))} / **{_md(s.get('name', '?'), 80)}** "
                f"[{_md(s.get('host', '?'), 60)}] {_md(s.get('status'))}{rc}{msg}"
            )
        if len(failures) > len(shown):
            lines.append(f"- … and {len(failures) - len(shown)} more (see report.html)")

    ident = [
        ("run", result.get("run_id")),
        ("operator", result.get("operator")),
        ("environment", result.get("environment")),
        ("change", result.get("change_id")),
        ("started", result.get("started_at")),
        ("duration", format_seconds(result.get("duration_s"))),
    ]
    lines += ["", " · ".join(f"{k} `{_code(v)}`" for k, v in ident if v is not None)]
    lines += ["", "### Provenance", ""]
    # The operator is on the run line above already: the comment stays short.
    items = [i for i in provenance_items(result) if i.key != "operator"]
    lines += [f"- {item.label}: {_md(item.text, 300)}" for item in items]
    return "\n".join(lines) + "\n"


def _code(value: Any) -> str:
    return " ".join(str(value).split()).replace("`", "'")[:120]
