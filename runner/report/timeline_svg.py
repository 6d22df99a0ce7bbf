"""The run's timeline as inline SVG: phases, a bar per step and host, the availability
probe as a strip, and markers for T0, detection, decision, recovery, triggers and faults."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape
from typing import Any

from runner.report.markdown import format_seconds, trigger_text

STATUS_COLOUR = {
    "ok": "#2e7d32",
    "passed": "#2e7d32",
    "met": "#2e7d32",
    "failed": "#c62828",
    "missed": "#c62828",
    "not measured": "#c62828",
    "unreachable": "#e65100",
    "interrupted": "#6a1b9a",
    "error": "#e65100",
    "ignored": "#f9a825",
    "skipped": "#9e9e9e",
}
_GREY = "#9e9e9e"
STRIP_COLOUR = {"healthy": "#2e7d32", "unhealthy": "#c62828", "unknown": "#b0bec5"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


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


def timeline_svg(result: dict[str, Any]) -> str:
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
    strip_rows = len(result.get("availability") or [])
    height = top + row_h * (max(len(bars), 1) + strip_rows) + 40
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
    strips = result.get("availability") or []
    strip_top = top + row_h * max(len(bars), 1) + 6
    for i, strip in enumerate(strips):
        y = strip_top + i * row_h
        out.append(
            f'<text x="{label_w - 6}" y="{y + 10}" text-anchor="end">'
            f"{_e(strip.get('probe'))} (availability)</text>"
        )
        for start, end, ok in strip.get("runs") or []:
            # null: the probe could not judge (its Prometheus did not answer): neither
            # green nor red, so an unknown stretch never reads as uptime or downtime.
            state = "unknown" if ok is None else "healthy" if ok else "unhealthy"
            colour = STRIP_COLOUR[state]
            tip = f"{state} {format_seconds(end - start)}"
            out.append(
                f'<rect x="{label_w + start * scale:.1f}" y="{y + 2}" '
                f'width="{max((end - start) * scale, 1):.1f}" height="{row_h - 4}" fill="{colour}">'
                f"<title>{_e(tip)}</title></rect>"
            )
    markers = []
    points = result.get("timeline") or {}
    for key, colour, name in (
        ("t0", "#c62828", "T0"),
        ("detected", "#ef6c00", "detected"),
        ("decided", "#1565c0", "decided"),
        ("recovered", "#2e7d32", "recovered"),
    ):
        markers.append((_offset(points.get(key), t0), colour, name, f"{name}: {points.get(key)}"))
    trigger = result.get("trigger") or {}
    if not points.get("detected"):
        markers.append(
            (_offset(trigger.get("at"), t0), "#c62828", "trigger", trigger_text(trigger))
        )
    for fault in result.get("faults") or []:
        kind = f"fault {fault.get('kind', '?')}"
        markers.append((_offset(fault.get("injected_at"), t0), "#6a1b9a", kind, kind + " injected"))
    for n, (at, colour, name, tip) in enumerate(m for m in markers if m[0] is not None):
        assert at is not None
        x = label_w + at * scale
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 14}" x2="{x:.1f}" y2="{height}" stroke="{colour}" '
            f'stroke-width="1.5" stroke-dasharray="4 3"><title>{_e(tip)}</title></line>'
            # Labels of nearby markers would overlap: stagger them over three lines.
            f'<text x="{x + 3:.1f}" y="{height - 3 - 11 * (n % 3)}" fill="{colour}">'
            f"{_e(name)}</text>"
        )
    out.append("</svg>")
    missing = len(steps) - len(bars)
    note = f'<p class="muted">{missing} step runs have no start time and are not drawn.</p>'
    return "<h2>Timeline</h2>" + "".join(out) + (note if missing else "")
