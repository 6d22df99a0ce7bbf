"""The quarterly rollback report as one self-contained HTML file for the CAB and auditors.

No scripts, no fetches: inline CSS (the drill report's) and inline SVG bar charts. All text
from the history goes through `html.escape`; links to drill evidence are relative paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from runner.report.html import CSS, STATUS_COLOUR
from runner.report.markdown import format_seconds
from runner.report.quarterly import ALL, Figures, QuarterlyReport
from runner.report.quarterly_md import (
    change_text,
    listed,
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


def _targets(r: QuarterlyReport) -> str:
    rows = [
        [
            _e(t.name),
            _e(t.target),
            _e(target_actual(t)),
            _badge(_MET_WORD[t.met], _MET_COLOUR[t.met]),
        ]
        for t in r.targets
    ]
    return "<h2>Targets</h2>" + _table(["metric", "target", "this quarter", "verdict"], rows)


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
            + (" overdue" if e.overdue and e.state != "overdue" else ""),
            _e(e.runs),
            _e(e.last_run_id or "—"),
        ]
        for e in r.plan
    ]
    ran = sum(1 for e in r.plan if e.runs)
    return f"<h2>Drills planned and run</h2><p>{len(r.plan)} planned, {ran} run.</p>" + _table(
        ["drill", "playbook", "owner", "due", "state", "runs", "last run"], rows
    )


def _components(figs: Sequence[Figures]) -> str:
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
                _e(len(f.data_loss_runs)),
                _e(f.repeat_rollbacks),
            ]
        )
        times.append(
            [name, *(_e(spread_text(s)) for s in (f.detect, f.decide, f.rollback, f.recover))]
        )
    head = ["component", "runs", "RTO met", "RPO met", "rollback success", "data loss", "repeats"]
    return (
        "<h2>Per component</h2>"
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
            _badge(f.status, STATUS_COLOUR.get(f.status, _GREY)),
            f'<span class="msg">{_e(f.reason)}</span>',
            f'<a href="{_e(f.report)}">report.html</a>' if f.report else "—",
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
            f"{plural(report.previous_runs, 'run')}.</p>",
            _targets(report),
            _plan(report),
            _charts(report),
            _components([*report.components, t]),
            _changes(report),
            _repeats(report),
            _failed(report),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Quarterly rollback report {_e(report.quarter)}</title>"
        f"<style>{CSS}</style></head><body>{body}"
        "<footer>drillctl quarterly report</footer></body></html>\n"
    )
