"""`report.html`: the drill evidence for CAB and auditors, one self-contained printable file.

No scripts and no external fetches: inline CSS and an inline SVG timeline. Every piece of text
from the run goes through `html.escape`.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape
from typing import Any

from runner.report.markdown import (
    NOT_MEASURED,
    failed_steps,
    format_seconds,
    objective_rows,
    step_counts,
    trigger_text,
)

STATUS_COLOUR = {
    "ok": "#2e7d32",
    "passed": "#2e7d32",
    "met": "#2e7d32",
    "failed": "#c62828",
    "missed": "#c62828",
    "unreachable": "#e65100",
    "interrupted": "#6a1b9a",
    "error": "#e65100",
    "ignored": "#f9a825",
    "skipped": "#9e9e9e",
}
_GREY = "#9e9e9e"
_MAX_MSG = 2000

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212121;
 margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:22px;margin:0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.banner{color:#fff;padding:16px 20px;border-radius:6px}
.banner p{margin:6px 0 0}
table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5;font-weight:600}
table.doc th{width:230px}
td.num{text-align:right;white-space:nowrap}
td.msg{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,monospace;font-size:12px}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:0 6px;font-size:12px}
.muted{color:#757575}
ul{margin:0;padding-left:18px}
svg{width:100%;height:auto;font:11px system-ui,sans-serif}
footer{margin-top:32px;font-size:12px;color:#757575}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
@media print{body{padding:0;max-width:none}tr,svg{break-inside:avoid}}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _badge(status: Any) -> str:
    colour = STATUS_COLOUR.get(str(status), _GREY)
    return f'<span class="badge" style="background:{colour}">{_e(status)}</span>'


def _parse(iso: Any) -> datetime | None:
    if not iso:
        return None
    try:
        when = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _offset(iso: Any, t0: datetime | None) -> float | None:
    when = _parse(iso)
    return None if when is None or t0 is None else (when - t0).total_seconds()


def _banner(result: dict[str, Any]) -> str:
    status = str(result.get("status", "error"))
    colour = STATUS_COLOUR.get(status, _GREY)
    title = f"{status.upper()} — {result.get('drill', 'drill')}"
    sub = [f"component {result['component']}"] if result.get("component") else []
    sub.append(f"rollback type {result.get('rollback_type', '?')}")
    sub.append(f"run {result.get('run_id', '?')}")
    reason = f"<p>{_e(result['reason'])}</p>" if result.get("reason") else ""
    return (
        f'<div class="banner" style="background:{colour}"><h1>{_e(title)}</h1>'
        f"{reason}<p>{_e(' · '.join(sub))}</p></div>"
    )


def _documentation(result: dict[str, Any]) -> str:
    """The seed's "Test Documentation" record, filled from the run."""
    measured = result.get("measured") or {}
    if not result.get("rolled_back"):
        rollback = "no rollback ran"
    else:
        outcome = "succeeded" if result.get("rollback_succeeded") else "FAILED"
        rollback = f"{format_seconds(measured.get('time_to_rollback_s'))} — rollback {outcome}"
    failures = failed_steps(result)
    if failures:
        items = "".join(
            f"<li>{_e(s.get('phase'))} / <b>{_e(s.get('name'))}</b> [{_e(s.get('host'))}] "
            f"{_e(s.get('status'))}: {_e(str(s.get('msg') or '')[:300])}</li>"
            for s in failures[:50]
        )
        if len(failures) > 50:
            items += f"<li>… and {len(failures) - 50} more (see Steps)</li>"
        issues = f"<ul>{items}</ul>"
    else:
        issues = "none"
    verify: dict[str, Any] = next(
        (p for p in result.get("phases") or [] if p.get("phase") == "verify"), {}
    )
    validation = {"ok": "Pass", "failed": "Fail"}.get(verify.get("status", ""), "Not run")
    if verify.get("skipped_reason"):
        validation += f" ({verify['skipped_reason']})"
    change = result.get("change_id")
    rows = [
        ("Rollback procedure tested", _e(result.get("started_at") or "not recorded")),
        ("Test environment", _e(result.get("environment") or "not recorded")),
        ("Tester", _e(result.get("operator") or "not recorded")),
        ("Rollback time", _e(rollback)),
        ("Issues found", issues),
        ("Modifications made", _e(f"change {change}" if change else "none recorded")),
        ("Final validation", _e(validation)),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<h2>Test documentation</h2><table class="doc">{body}</table>'


def _objectives(result: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(r.label)}</td><td>{_e(r.objective)}</td>"
        f'<td class="{"" if r.measured_known else "muted"}">{_e(r.measured)}</td>'
        f"<td>{_badge(r.verdict) if r.verdict else _e(r.verdict_text)}</td></tr>"
        for r in objective_rows(result)
    )
    trigger = trigger_text(result.get("trigger"))
    note = f"<p>Rollback trigger: {_e(trigger)}</p>" if trigger else ""
    return (
        "<h2>Objectives vs measured</h2><table><tr><th></th><th>Objective</th><th>Measured</th>"
        f"<th>Verdict</th></tr>{rows}</table>{note}"
    )


def _nice_step(span: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if span / step <= 8:
            return float(step)
    return math.ceil(span / 8 / 3600) * 3600.0


def _tick(t: float) -> str:
    if t < 60:
        return f"{t:g}s"
    minutes, secs = divmod(round(t), 60)
    return f"{minutes}m" if secs == 0 else f"{minutes}m{secs:02d}s"


def _timeline(result: dict[str, Any]) -> str:
    """Inline SVG: a bar per step and host, phase bands behind, trigger and fault markers."""
    steps = result.get("steps") or []
    t0 = _parse(result.get("started_at"))
    bars = []
    for s in steps:
        start = _offset(s.get("started_at"), t0)
        if start is not None:
            bars.append((s, start, float(s.get("duration_s") or 0.0)))
    bands = []
    for p in result.get("phases") or []:
        start = _offset(p.get("started_at"), t0)
        if p.get("status") != "skipped" and start is not None:
            bands.append((str(p.get("phase")), start, float(p.get("duration_s") or 0.0)))
    ends = [float(result.get("duration_s") or 0.0)]
    ends += [a + d for _, a, d in bars] + [a + d for _, a, d in bands]
    span = max(ends) or 1.0

    label_w, plot_w, row_h, top = 240, 700, 14, 40
    scale = plot_w / span
    height = top + row_h * max(len(bars), 1) + 18
    out = [
        f'<svg viewBox="0 0 {label_w + plot_w + 20} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>Timeline of {_e(result.get("drill"))}</title>'
    ]
    for i, (name, start, dur) in enumerate(bands):
        x = label_w + start * scale
        fill = "#e3f2fd" if i % 2 == 0 else "#f1f8e9"
        out.append(
            f'<rect x="{x:.1f}" y="{top - 14}" width="{max(dur * scale, 1):.1f}" '
            f'height="{height - top + 4}" fill="{fill}"><title>{_e(name)}: '
            f"{_e(format_seconds(dur))}</title></rect>"
            f'<text x="{x + 2:.1f}" y="{top - 4}" fill="#455a64">{_e(name)}</text>'
        )
    step = _nice_step(span)
    for k in range(int(span / step) + 1):
        x = label_w + k * step * scale
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 26}" x2="{x:.1f}" y2="{height}" stroke="#cfd8dc" '
            f'stroke-width="0.5"/><text x="{x:.1f}" y="{top - 28}" fill="#757575" '
            f'text-anchor="middle">{_tick(k * step)}</text>'
        )
    for row, (s, start, dur) in enumerate(bars):
        y = top + row * row_h
        label = f"{s.get('name', '?')} [{s.get('host', '?')}]"
        short = label if len(label) <= 38 else label[:37] + "…"
        colour = STATUS_COLOUR.get(str(s.get("status")), _GREY)
        tip = f"{s.get('phase')} / {label}: {s.get('status')}, {format_seconds(dur)}"
        out.append(
            f'<text x="{label_w - 6}" y="{y + 10}" text-anchor="end">{_e(short)}'
            f'<title>{_e(label)}</title></text><rect x="{label_w + start * scale:.1f}" y="{y + 2}" '
            f'width="{max(dur * scale, 1.5):.1f}" height="{row_h - 4}" fill="{colour}" rx="1">'
            f"<title>{_e(tip)}</title></rect>"
        )
    markers = []
    trigger = result.get("trigger") or {}
    markers.append((_offset(trigger.get("at"), t0), "#c62828", "trigger", trigger_text(trigger)))
    for fault in result.get("faults") or []:
        kind = f"fault {fault.get('kind', '?')}"
        markers.append((_offset(fault.get("injected_at"), t0), "#6a1b9a", kind, kind + " injected"))
    for at, colour, name, tip in markers:
        if at is None:
            continue
        x = label_w + at * scale
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 14}" x2="{x:.1f}" y2="{height}" stroke="{colour}" '
            f'stroke-width="1.5" stroke-dasharray="4 3"><title>{_e(tip)}</title></line>'
            f'<text x="{x + 3:.1f}" y="{height - 3}" fill="{colour}">{_e(name)}</text>'
        )
    out.append("</svg>")
    missing = len(steps) - len(bars)
    note = f'<p class="muted">{missing} step runs have no start time and are not drawn.</p>'
    return "<h2>Timeline</h2>" + "".join(out) + (note if missing else "")


def _phase_duration(phase: dict[str, Any]) -> str:
    return "—" if phase.get("status") == "skipped" else format_seconds(phase.get("duration_s"))


def _phases(result: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(p.get('phase'))}</td><td>{_badge(p.get('status'))}</td>"
        f"<td>{_e(p.get('started_at') or '')}</td>"
        f'<td class="num">{_e(_phase_duration(p))}</td>'
        f"<td>{_e(p.get('skipped_reason') or '')}</td></tr>"
        for p in result.get("phases") or []
    )
    return (
        "<h2>Phases</h2><table><tr><th>Phase</th><th>Status</th><th>Started</th>"
        f"<th>Duration</th><th>Note</th></tr>{rows}</table>"
    )


def _faults(result: dict[str, Any]) -> str:
    faults = result.get("faults") or []
    if not faults:
        return ""
    rows = "".join(
        f"<tr><td>{_e(f.get('kind'))}</td>"
        f"<td>{_e(', '.join(map(str, f.get('targets') or [])))}</td>"
        f"<td>{_e(f.get('injected_at') or '')}</td>"
        f"<td>{_e(f.get('reverted_at') or 'NOT REVERTED')}</td></tr>"
        for f in faults
    )
    return (
        "<h2>Faults</h2><table><tr><th>Kind</th><th>Targets</th><th>Injected</th>"
        f"<th>Reverted</th></tr>{rows}</table>"
    )


def _steps(result: dict[str, Any]) -> str:
    t0 = _parse(result.get("started_at"))
    rows = []
    for i, s in enumerate(result.get("steps") or [], 1):
        start = _offset(s.get("started_at"), t0)
        msg = str(s.get("msg") or "")
        msg = msg if len(msg) <= _MAX_MSG else msg[: _MAX_MSG - 1] + "…"
        rows.append(
            f'<tr><td class="num">{i}</td><td>{_e(s.get("phase"))}</td><td>{_e(s.get("name"))}</td>'
            f"<td>{_e(s.get('action'))}</td><td>{_e(s.get('host'))}</td><td>{_badge(s.get('status'))}</td>"
            f'<td class="num">{"" if start is None else f"+{start:.2f} s"}</td>'
            f'<td class="num">{_e(format_seconds(s.get("duration_s")))}</td>'
            f'<td class="num">{_e("" if s.get("rc") is None else s.get("rc"))}</td>'
            f'<td class="num">{_e(s.get("attempts", ""))}</td><td class="msg">{_e(msg)}</td></tr>'
        )
    counts = ", ".join(f"{n} {_e(k)}" for k, n in step_counts(result).items())
    return (
        f"<h2>Steps</h2><p>{sum(step_counts(result).values())} step runs (one per step and host)"
        f"{': ' + counts if counts else ''}</p><table><tr><th>#</th><th>Phase</th><th>Step</th>"
        "<th>Action</th><th>Host</th><th>Status</th><th>Start</th><th>Duration</th><th>rc</th>"
        f"<th>Tries</th><th>Message</th></tr>{''.join(rows)}</table>"
    )


def render(result: dict[str, Any]) -> str:
    """The full drill report as one self-contained HTML document."""
    title = f"{str(result.get('status', '')).upper()} — {result.get('drill', 'drill')}"
    keys = ("run_id", "playbook", "inventory", "started_at", "ended_at", "schema_version")
    ident = " · ".join(f"{k} {result[k]}" for k in keys if result.get(k) is not None)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(
            (
                _banner(result),
                _documentation(result),
                _objectives(result),
                _timeline(result),
                _phases(result),
                _faults(result),
                _steps(result),
            )
        )
        + f"\n<footer>drillctl · {_e(ident)} · figures marked “{NOT_MEASURED}” were not measured"
        " by this run.</footer>\n</body></html>\n"
    )
