"""The quarterly rollback report in Markdown (for the CAB pack, a wiki page or a PR).

Also home of how the quarterly figures read as text, so the Markdown and HTML reports say
the same thing the same way.
"""

from __future__ import annotations

import html
import re

from runner.report.markdown import NOT_MEASURED, format_seconds
from runner.report.quarterly import (
    ALL,
    Change,
    Evidence,
    Figures,
    QuarterlyReport,
    Ratio,
    Spread,
    TargetCheck,
)

MET_TEXT = {True: "✅ met", False: "❌ missed", None: "— no data"}


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def previous_text(report: QuarterlyReport, change: Change) -> str:
    return "no runs" if report.previous_runs == 0 else show(change.previous, change.unit)


def listed(run_ids: tuple[str, ...], limit: int = 5) -> str:
    """Run ids for a sentence: the first few, then how many more (JSON has them all)."""
    more = len(run_ids) - limit
    return ", ".join(run_ids[:limit]) + (f" and {more} more" if more > 0 else "")


def show(value: float | None, unit: str) -> str:
    """A figure in its unit: seconds as durations, ratios as percentages, counts as is."""
    if value is None:
        return NOT_MEASURED
    if unit == "seconds":
        return format_seconds(value)
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    return f"{value:g}"


def ratio_text(ratio: Ratio) -> str:
    if ratio.value is None:
        return "— none judged"
    return f"{ratio.value * 100:.1f} % ({ratio.hits}/{ratio.total})"


def spread_text(s: Spread) -> str:
    if s.count == 0:
        return NOT_MEASURED
    return f"{format_seconds(s.p50)} / {format_seconds(s.p90)} / {format_seconds(s.max)}"


def change_text(change: Change) -> str:
    """The move from last quarter; for durations and incidents, down is better."""
    if change.current is None or change.previous is None:
        return "—"
    delta = change.current - change.previous
    if abs(delta) < 1e-9:
        return "unchanged"
    sign = "+" if delta > 0 else "-"
    if change.unit == "ratio":
        return f"{sign}{abs(delta) * 100:.1f} pts"
    if change.unit == "seconds":
        return f"{sign}{format_seconds(abs(delta))}"
    return f"{sign}{abs(delta):g}"


def target_actual(t: TargetCheck) -> str:
    return show(t.actual, t.unit)


def cell(text: object, limit: int = 200) -> str:
    """One table cell of inline Markdown: no line breaks, no pipes, no raw HTML."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", html.escape(flat, quote=False))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return [*lines, *("| " + " | ".join(row) + " |" for row in rows), ""]


def made_text(r: QuarterlyReport) -> str:
    """When and by what the report was made: a report is evidence too."""
    return f"Made {r.generated_at or 'at an unrecorded time'} by drillctl {r.drillctl_version}."


def incidents_text(r: QuarterlyReport) -> str:
    n = 0 if r.incidents is None else r.incidents.runs
    voided = f"; {plural(len(r.voided), 'voided run')} listed, not counted" if r.voided else ""
    return f"{plural(n, 'real incident')} (rollbacks run with `--kind incident`){voided}."


def evidence_link(link: Evidence | None) -> str:
    """A Markdown link to a run's evidence, or why there is none."""
    if link is None or link.href is None:
        return "—"
    text = f"[{link.name}](<{link.href}>)"
    return text + " (missing)" if link.missing else text


def _summary(r: QuarterlyReport) -> list[str]:
    t = r.total
    statuses = ", ".join(f"{n} {s}" for s, n in t.by_status.items()) or "no runs"
    return [
        f"# Quarterly rollback report — {r.quarter}",
        "",
        f"{plural(t.runs, 'drill run')} of {plural(len(r.components), 'component')} "
        f"({statuses}); {r.previous_quarter} had {plural(r.previous_runs, 'drill run')}. "
        + incidents_text(r),
        "",
        made_text(r),
        "",
    ]


def _target_rows(checks: tuple[TargetCheck, ...]) -> list[list[str]]:
    return [[cell(t.name), t.target, target_actual(t), MET_TEXT[t.met]] for t in checks]


def _targets(r: QuarterlyReport) -> list[str]:
    return [
        "## Targets",
        "",
        'From the rollback procedures ("TARGET METRICS"), over the quarter\'s drills: '
        "rehearsals. The procedures judge real rollbacks: see Real incidents.",
        "",
        *_table(["metric", "target", "drills this quarter", "verdict"], _target_rows(r.targets)),
    ]


def _incidents(r: QuarterlyReport) -> list[str]:
    head = ["## Real incidents", ""]
    if r.incidents is None:
        return [
            *head,
            "None recorded this quarter: the targets were not judged on real rollbacks.",
            "",
        ]
    outcome, times = _component_rows([r.incidents])
    return [
        *head,
        "Rollbacks run for real incidents, apart from drills; the procedures' targets:",
        "",
        *_table(["metric", "target", "this quarter", "verdict"], _target_rows(r.incident_targets)),
        *_table(
            ["", "runs", "RTO met", "RPO met", "rollback success", "data loss", "repeats"], outcome
        ),
        *_table(["", "detect", "decide", "roll back", "recover (RTO)"], times),
    ]


def _voided(r: QuarterlyReport) -> list[str]:
    if not r.voided:
        return []
    rows = [
        [
            cell(v.run_id),
            cell(v.drill),
            v.kind,
            v.status,
            cell(f"{v.voided_at} by {v.voided_by}"),
            cell(v.reason, 200),
            evidence_link(v.evidence),
        ]
        for v in r.voided
    ]
    return [
        "## Voided runs",
        "",
        "Listed for the record; counted in no figure above.",
        "",
        *_table(["run", "drill", "kind", "status", "voided", "reason", "evidence"], rows),
    ]


def _plan(r: QuarterlyReport) -> list[str]:
    if r.plan is None:
        return []
    states = [e.state for e in r.plan]
    counts = " · ".join(f"{states.count(s)} {s}" for s in ("done", "failed", "overdue", "pending"))
    ran = sum(1 for e in r.plan if e.runs)
    rows = [
        [
            cell(e.entry_id),
            cell(e.owner),
            str(e.due),
            e.state
            + (" (overdue)" if e.overdue and e.state != "overdue" else "")
            + (" (late)" if e.late else ""),
            str(e.runs) + (f" (+{e.unplanned_runs} unplanned)" if e.unplanned_runs else ""),
            cell(e.last_run_id or "—"),
        ]
        for e in r.plan
    ]
    return [
        "## Drills planned and run",
        "",
        f"{len(r.plan)} planned, {ran} run: {counts}. An entry is done only by a passed run "
        "made under it (`drillctl drill run`); runs by hand are unplanned and not counted.",
        "",
        *_table(["drill", "owner", "due", "state", "runs", "last run"], rows),
    ]


def _component_rows(figs: list[Figures]) -> tuple[list[list[str]], list[list[str]]]:
    outcome, times = [], []
    for f in figs:
        name = f"**{cell(f.component)}**" if f.component == ALL else cell(f.component)
        outcome.append(
            [
                name,
                str(f.runs),
                ratio_text(f.rto_attainment),
                ratio_text(f.rpo_attainment),
                ratio_text(f.rollback_success),
                "not measured" if f.data_loss_incidents is None else str(f.data_loss_incidents),
                str(f.repeat_rollbacks),
            ]
        )
        times.append([name, *(spread_text(s) for s in (f.detect, f.decide, f.rollback, f.recover))])
    return outcome, times


def _components(r: QuarterlyReport) -> list[str]:
    outcome, times = _component_rows([*r.components, r.total])
    header = ["component", "runs", "RTO met", "RPO met", "rollback success", "data loss", "repeats"]
    return [
        "## Per component",
        "",
        *_table(header, outcome),
        "Times as p50 / p90 / max over the runs that measured them:",
        "",
        *_table(["component", "detect", "decide", "roll back", "recover (RTO)"], times),
    ]


def _changes(r: QuarterlyReport) -> list[str]:
    rows = [
        [cell(c.metric), previous_text(r, c), show(c.current, c.unit), change_text(c)]
        for c in r.changes
    ]
    return [
        f"## Compared with {r.previous_quarter}",
        "",
        *_table(["metric", r.previous_quarter, r.quarter, "change"], rows),
    ]


def _repeats(r: QuarterlyReport) -> list[str]:
    if not r.total.repeats:
        return []
    lines = ["## Repeat rollbacks", ""]
    for rep in r.total.repeats:
        runs = cell(listed(rep.run_ids), 400)
        lines.append(
            f"- {cell(rep.component)} — {cell(rep.cause)}: {len(rep.run_ids)} runs ({runs})"
        )
    return [*lines, ""]


def _failed(r: QuarterlyReport) -> list[str]:
    if not r.failed:
        return ["## Failed drills", "", "None.", ""]
    rows = [
        [
            cell(f.run_id),
            cell(f.drill),
            cell(f.component),
            f.status + (" (incident)" if f.kind == "incident" else ""),
            cell(f.reason, 160),
            evidence_link(f.evidence),
        ]
        for f in r.failed
    ]
    return [
        "## Failed drills",
        "",
        *_table(["run", "drill", "component", "status", "reason", "evidence"], rows),
    ]


def render(report: QuarterlyReport) -> str:
    lines = [
        *_summary(report),
        *_targets(report),
        *_incidents(report),
        *_plan(report),
        *_components(report),
        *_changes(report),
        *_repeats(report),
        *_failed(report),
        *_voided(report),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
