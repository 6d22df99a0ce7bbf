"""`report.html`: the drill evidence for CAB and auditors, one self-contained printable file.

No scripts and no external fetches: inline CSS and an inline SVG timeline. Every piece of text
from the run goes through `html.escape`.
"""

from __future__ import annotations

from typing import Any

from runner.report.markdown import (
    NOT_MEASURED,
    format_seconds,
    objective_rows,
    step_counts,
    trigger_text,
)
from runner.report.provenance_view import provenance_items
from runner.report.timeline_svg import _GREY, _e, _offset, _parse, timeline_svg
from runner.report.timeline_svg import STATUS_COLOUR as STATUS_COLOUR
from runner.results.verdict import verdict_of

_MAX_MSG = 2000
_MAX_ISSUES = 60

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


def _badge(status: Any) -> str:
    colour = STATUS_COLOUR.get(str(status), _GREY)
    return f'<span class="badge" style="background:{colour}">{_e(status)}</span>'


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
    verdict = verdict_of(result)
    if verdict.issues:
        shown = verdict.issues[:_MAX_ISSUES]
        items = "".join(f"<li>{_e(i.text[:400])}</li>" for i in shown)
        if len(verdict.issues) > len(shown):
            items += f"<li>… and {len(verdict.issues) - len(shown)} more (see Steps)</li>"
        issues = f"<ul>{items}</ul>"
    else:
        issues = "none"
    # The run's verdict, never the verify phase's alone: verify can pass on a failed drill.
    validation = verdict.final_validation
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


def _checklists(result: dict[str, Any]) -> str:
    """The procedure's checklists: what steps ticked, who confirmed what, when."""
    items = result.get("checklists") or []
    if not items:
        return ""
    rows = []
    for item in items:
        who = f"{item.get('by')} at {item.get('at')}" if item.get("by") else ""
        how = f"step “{item.get('step')}”" if item.get("kind") == "check" else "operator"
        state = str(item.get("state", ""))
        badge = {"ticked": "ok", "confirmed": "ok", "failed": "failed"}.get(state, "skipped")
        colour = STATUS_COLOUR.get(badge, _GREY)
        rows.append(
            f"<tr><td>{_e(item.get('list'))}</td><td>{_e(item.get('text'))}</td>"
            f'<td>{_e(how)}</td><td><span class="badge" style="background:{colour}">'
            f"{_e(state)}</span></td><td>{_e(who)}</td></tr>"
        )
    head = "<tr><th>List</th><th>Item</th><th>By</th><th>State</th><th>Confirmed</th></tr>"
    return f"<h2>Checklists</h2><table>{head}{''.join(rows)}</table>"


def _provenance(result: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{_e(item.label)}</th><td>{_e(item.text)}</td></tr>"
        for item in provenance_items(result)
    )
    return f'<h2>Provenance</h2><table class="doc">{rows}</table>'


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
                _checklists(result),
                timeline_svg(result),
                _phases(result),
                _faults(result),
                _steps(result),
                _provenance(result),
            )
        )
        + f"\n<footer>drillctl · {_e(ident)} · figures marked “{NOT_MEASURED}” were not measured"
        " by this run.</footer>\n</body></html>\n"
    )
