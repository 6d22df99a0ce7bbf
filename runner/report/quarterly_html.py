"""The quarterly rollback report as one self-contained HTML file for the CAB and auditors.

No scripts, no fetches: inline CSS (the drill report's) and inline SVG bar charts. All text
from the history goes through `html.escape`; links to drill evidence are relative paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from runner.report.html import CSS, STATUS_COLOUR
from runner.report.markdown import format_seconds
from runner.report.quarterly import ALL, Evidence, Figures, QuarterlyReport, TargetCheck
from runner.report.quarterly_md import (
    change_text,
    incidents_text,
    listed,
    made_text,
    plural,
    previous_text,
    ratio_text,
    show,
    spread_text,
    target_actual,
)

_GREY = "#9e9e9e"
_MET_COLOUR = {True: "#2e7d32", False: "#c62828", None: _GREY}
# Words, not emoji: the badge's colour already says it, and print fonts may lack the glyphs.
_MET_WORD = {True: "met", False: "missed", None: "no data"}
# One bar per series; a chart row per component.
Series = tuple[str, str]  # (legend, colour)
_LABEL_W, _CHART_W, _ROW_H, _BAR_H, _GAP = 170, 560, 22, 7, 6


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _badge(text: str, colour: str) -> str:
    return f'<span class="badge" style="background:{colour}">{_e(text)}</span>'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[Series],
    label: Callable[[float], str],
    scale_max: float | None = None,
    marker: tuple[float, str] | None = None,
) -> str:
    """Horizontal grouped bars: per row one bar per series, the value written beside it."""
    values = [v for _, vs in rows for v in vs if v is not None]
    top = scale_max or max([*values, marker[0] if marker else 0.0, 1e-9])
    height = 44 + len(rows) * (len(series) * (_BAR_H + _GAP) + _ROW_H - _BAR_H) + 20
    width = _LABEL_W + _CHART_W + 90
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
        f'<text x="0" y="14" font-weight="600">{_e(title)}</text>',
    ]
    legend_x = 0
    for name, colour in series:
        parts.append(f'<rect x="{legend_x}" y="21" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="30">{_e(name)}</text>')
        legend_x += 24 + 7 * len(name)
    y = 44
    for name, vs in rows:
        parts.append(f'<text x="0" y="{y + 10}">{_e(name[:26])}</text>')
        for value, (_, colour) in zip(vs, series, strict=True):
            if value is None:
                parts.append(f'<text x="{_LABEL_W}" y="{y + _BAR_H}" fill="{_GREY}">n/a</text>')
            else:
                w = max(1.0, _CHART_W * min(value, top) / top)
                parts.append(
                    f'<rect x="{_LABEL_W}" y="{y}" width="{w:.1f}" height="{_BAR_H}" '
                    f'fill="{colour}"><title>{_e(label(value))}</title></rect>'
                )
                text_x = _LABEL_W + w + 4
                parts.append(
                    f'<text x="{text_x:.1f}" y="{y + _BAR_H + 1}">{_e(label(value))}</text>'
                )
            y += _BAR_H + _GAP
        y += _ROW_H - _BAR_H
    if marker is not None:
        x = _LABEL_W + _CHART_W * min(marker[0], top) / top
        red = 'stroke="#c62828" stroke-dasharray="4 3"'
        parts.append(f'<line x1="{x:.1f}" y1="38" x2="{x:.1f}" y2="{y}" {red}/>')
        parts.append(
            f'<text x="{x:.1f}" y="{y + 12}" text-anchor="middle" fill="#c62828">'
            f"{_e(marker[1])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _charts(r: QuarterlyReport) -> str:
    figs = list(r.components)
    if not figs:
        return ""
    times = bar_chart(
        "Time to roll back per component",
        [(f.component, [f.rollback.p50, f.rollback.p90, f.rollback.max]) for f in figs],
        [("p50", "#1565c0"), ("p90", "#64b5f6"), ("max", "#bbdefb")],
        format_seconds,
    )
    attainment = bar_chart(
        "Objectives met per component",
        [(f.component, [f.rto_attainment.value, f.rpo_attainment.value]) for f in figs],
        [("RTO met", "#2e7d32"), ("RPO met", "#81c784")],
        lambda v: f"{v * 100:.0f} %",
        scale_max=1.0,
        marker=(1.0, "target 100 %"),
    )
    return f"<h2>Charts</h2>{times}{attainment}"


def _target_rows(checks: Sequence[TargetCheck]) -> list[list[str]]:
    return [
        [
            _e(t.name),
            _e(t.target),
            _e(target_actual(t)),
            _badge(_MET_WORD[t.met], _MET_COLOUR[t.met]),
        ]
        for t in checks
    ]


def _targets(r: QuarterlyReport) -> str:
    return (
        "<h2>Targets</h2><p>From the rollback procedures, over the quarter's drills "
        "(rehearsals). The procedures judge real rollbacks: see Real incidents.</p>"
        + _table(["metric", "target", "drills this quarter", "verdict"], _target_rows(r.targets))
    )


def _incidents(r: QuarterlyReport) -> str:
    if r.incidents is None:
        return (
            "<h2>Real incidents</h2><p>None recorded this quarter: the targets were not "
            "judged on real rollbacks.</p>"
        )
    return (
        "<h2>Real incidents</h2><p>Rollbacks run for real incidents, apart from drills; the "
        "procedures' targets:</p>"
        + _table(["metric", "target", "this quarter", "verdict"], _target_rows(r.incident_targets))
        + _components([r.incidents], "")
    )


def _link(link: Evidence | None) -> str:
    if link is None or link.href is None:
        return "—"
    html = f'<a href="{_e(link.href)}">{_e(link.name)}</a>'
    return html + ' <span class="muted">(missing)</span>' if link.missing else html


def _voided(r: QuarterlyReport) -> str:
    if not r.voided:
        return ""
    rows = [
        [
            _e(v.run_id),
            _e(v.drill),
            _e(v.kind),
            _e(v.status),
            _e(f"{v.voided_at} by {v.voided_by}"),
            f'<span class="msg">{_e(v.reason)}</span>',
            _link(v.evidence),
        ]
        for v in r.voided
    ]
    return "<h2>Voided runs</h2><p>Listed for the record; counted in no figure above.</p>" + _table(
        ["run", "drill", "kind", "status", "voided", "reason", "evidence"], rows
    )


def _plan(r: QuarterlyReport) -> str:
    if r.plan is None:
        return ""
    colours = {"done": "#2e7d32", "failed": "#c62828", "overdue": "#e65100", "pending": _GREY}
    rows = [
        [
            _e(e.entry_id),
            _e(e.playbook),
            _e(e.owner),
            _e(e.due),
            _badge(e.state, colours.get(e.state, _GREY))
            + (" overdue" if e.overdue and e.state != "overdue" else "")
            + (" late" if e.late else ""),
            _e(e.runs) + (f" (+{e.unplanned_runs} unplanned)" if e.unplanned_runs else ""),
            _e(e.last_run_id or "—"),
        ]
        for e in r.plan
    ]
    ran = sum(1 for e in r.plan if e.runs)
    note = (
        "An entry is done only by a passed run made under it (<code>drillctl drill run</code>); "
        "runs by hand are unplanned and not counted."
    )
    head = f"<h2>Drills planned and run</h2><p>{len(r.plan)} planned, {ran} run. {note}</p>"
    return head + _table(["drill", "playbook", "owner", "due", "state", "runs", "last run"], rows)


def _components(figs: Sequence[Figures], title: str = "<h2>Per component</h2>") -> str:
    rows, times = [], []
    for f in figs:
        name = f"<b>{_e(f.component)}</b>" if f.component == ALL else _e(f.component)
        rows.append(
            [
                name,
                _e(f.runs),
                _e(ratio_text(f.rto_attainment)),
                _e(ratio_text(f.rpo_attainment)),
                _e(ratio_text(f.rollback_success)),
                _e("not measured" if f.data_loss_incidents is None else f.data_loss_incidents),
                _e(f.repeat_rollbacks),
            ]
        )
        times.append(
            [name, *(_e(spread_text(s)) for s in (f.detect, f.decide, f.rollback, f.recover))]
        )
    head = ["component", "runs", "RTO met", "RPO met", "rollback success", "data loss", "repeats"]
    return (
        title
        + _table(head, rows)
        + '<p class="muted">Times as p50 / p90 / max over the runs that measured them.</p>'
        + _table(["component", "detect", "decide", "roll back", "recover (RTO)"], times)
    )


def _changes(r: QuarterlyReport) -> str:
    rows = [
        [
            _e(c.metric),
            _e(previous_text(r, c)),
            _e(show(c.current, c.unit)),
            _e(change_text(c)),
        ]
        for c in r.changes
    ]
    return f"<h2>Compared with {_e(r.previous_quarter)}</h2>" + _table(
        ["metric", r.previous_quarter, r.quarter, "change"], rows
    )


def _repeats(r: QuarterlyReport) -> str:
    if not r.total.repeats:
        return ""
    items = "".join(
        f"<li>{_e(x.component)} — {_e(x.cause)}: {len(x.run_ids)} runs "
        f"({_e(listed(x.run_ids))})</li>"
        for x in r.total.repeats
    )
    return f"<h2>Repeat rollbacks</h2><ul>{items}</ul>"


def _failed(r: QuarterlyReport) -> str:
    if not r.failed:
        return "<h2>Failed drills</h2><p>None.</p>"
    rows = [
        [
            _e(f.run_id),
            _e(f.drill),
            _e(f.component),
            _badge(f.status, STATUS_COLOUR.get(f.status, _GREY))
            + (" incident" if f.kind == "incident" else ""),
            f'<span class="msg">{_e(f.reason)}</span>',
            _link(f.evidence),
        ]
        for f in r.failed
    ]
    return "<h2>Failed drills</h2>" + _table(
        ["run", "drill", "component", "status", "reason", "evidence"], rows
    )


def render(report: QuarterlyReport) -> str:
    t = report.total
    statuses = ", ".join(f"{n} {s}" for s, n in t.by_status.items()) or "no runs"
    body = "".join(
        [
            f"<h1>Quarterly rollback report — {_e(report.quarter)}</h1>",
            f"<p>{plural(t.runs, 'drill run')} of {plural(len(report.components), 'component')} "
            f"({_e(statuses)}); {_e(report.previous_quarter)} had "
            f"{plural(report.previous_runs, 'drill run')}. {_e(incidents_text(report))}</p>",
            f"<p>{_e(made_text(report))}</p>",
            _targets(report),
            _incidents(report),
            _plan(report),
            _charts(report),
            _components([*report.components, t]),
            _changes(report),
            _repeats(report),
            _failed(report),
            _voided(report),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Quarterly rollback report {_e(report.quarter)}</title>"
        f"<style>{CSS}</style></head><body>{body}"
        f"<footer>drillctl quarterly report · {_e(made_text(report))}</footer></body></html>\n"
    )
