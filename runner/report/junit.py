"""`junit.xml`: the drill as Jenkins/Ant JUnit test results, for CI test tabs and trends.

One `<testsuite>` per phase that ran (a testcase per step and host) and one `objectives` suite
(RTO, RPO, rollback budget, overall drill status). Testcase names are stable across runs so CI
can track each one over time; the measured figures go in messages and `<system-out>`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from runner.report.markdown import format_seconds, objective_rows
from runner.report.provenance_view import provenance_properties
from runner.results.verdict import FAILING, NOT_MEASURED

# Characters XML 1.0 forbids (control characters from command output would make the file
# unparsable for every CI server): everything but tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD
# and U+10000-U+10FFFF. Written as the short list of what is forbidden: the same set as a
# negated class of what is allowed took ~5 ms to compile, at every start of every run.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MAX_MESSAGE = 300


def _text(value: Any) -> str:
    return _INVALID_XML.sub("\ufffd", "" if value is None else str(value))


def _message(value: Any) -> str:
    first = _text(value).strip().splitlines()
    line = first[0] if first else ""
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def _seconds(value: Any) -> str:
    return f"{float(value or 0.0):.3f}"


def _timestamp(iso: Any) -> str | None:
    """Ant's schema wants `YYYY-MM-DDTHH:MM:SS` (no fraction, no zone); our times are UTC."""
    match = re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", str(iso or ""))
    return match.group(0) if match else None


def _case(suite: ET.Element, classname: str, name: str, time: Any = 0.0) -> ET.Element:
    return ET.SubElement(
        suite,
        "testcase",
        {"classname": _text(classname), "name": _text(name), "time": _seconds(time)},
    )


def _system_out(case: ET.Element, text: str) -> None:
    ET.SubElement(case, "system-out").text = _text(text)


def _step_case(suite: ET.Element, classname: str, step: dict[str, Any]) -> None:
    name = f"{step.get('name', '?')} [{step.get('host', '?')}]"
    case = _case(suite, classname, name, step.get("duration_s"))
    status = str(step.get("status", ""))
    msg = str(step.get("msg") or "")
    details = [f"status: {status}", f"action: {step.get('action', '?')}"]
    if step.get("rc") is not None:
        details.append(f"rc: {step['rc']}")
    details.append(f"attempts: {step.get('attempts', 1)}")
    if step.get("started_at"):
        details.append(f"started: {step['started_at']}")
    if msg:
        details.append(f"message: {msg}")
    if status in FAILING:
        failure = ET.SubElement(
            case, "failure", {"message": _message(msg or status), "type": _text(status)}
        )
        failure.text = _text("\n".join(details))
    elif status == "skipped":
        attrs = {"message": _message(msg)} if msg else {}
        ET.SubElement(case, "skipped", attrs)
    elif status == "ignored":
        # Failed under ignore_errors: passes, but keep the evidence.
        _system_out(case, "\n".join(details))


def _objective_cases(suite: ET.Element, classname: str, result: dict[str, Any]) -> None:
    for row in objective_rows(result):
        if row.key not in ("rto", "rpo", "budget"):
            continue
        case = _case(suite, classname, row.key)
        summary = f"{row.label}: measured {row.measured}, objective {row.objective}"
        objective = (result.get("objectives") or {}).get(f"{row.key}_s")
        # An objective set but not measured was not met: it fails, as in the run's verdict.
        unmeasured = row.verdict == NOT_MEASURED or (
            row.key != "budget" and objective is not None and not row.measured_known
        )
        if row.verdict == "missed" or unmeasured:
            failure = ET.SubElement(case, "failure", {"message": summary, "type": "objective"})
            failure.text = summary
        elif row.verdict is None:
            reason = "not measured" if not row.measured_known else "no objective set"
            ET.SubElement(case, "skipped", {"message": reason})
        else:
            _system_out(case, summary)

    status = str(result.get("status", "error"))
    case = _case(suite, classname, "drill status")
    summary = f"drill {status}" + (f": {result['reason']}" if result.get("reason") else "")
    if status == "error":
        # An environment error (exit 3): the drill could not be judged.
        ET.SubElement(case, "error", {"message": _message(summary), "type": status}).text = _text(
            summary
        )
    elif status != "passed":
        ET.SubElement(case, "failure", {"message": _message(summary), "type": status}).text = _text(
            summary
        )
    else:
        _system_out(case, f"{summary} in {format_seconds(result.get('duration_s'))}")


def _properties(suite: ET.Element, result: dict[str, Any]) -> None:
    props = ET.SubElement(suite, "properties")
    for key in (
        "run_id",
        "component",
        "environment",
        "operator",
        "change_id",
        "rollback_type",
        "playbook",
        "inventory",
    ):
        if result.get(key) is not None:
            ET.SubElement(props, "property", {"name": key, "value": _text(result[key])})
    for name, value in provenance_properties(result):
        ET.SubElement(props, "property", {"name": name, "value": _text(value)})


def _count(suite: ET.Element, time: Any = None) -> None:
    """Set tests/failures/errors/skipped/time from the suite's own testcases."""
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
    suite.set("errors", str(sum(c.find("error") is not None for c in cases)))
    suite.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
    if time is None:
        time = sum(float(c.get("time", "0")) for c in cases)
    suite.set("time", _seconds(time))


def _phase_order(result: dict[str, Any]) -> list[str]:
    """Phases that ran, in run order, plus any phase seen only in steps."""
    order = [str(p["phase"]) for p in result.get("phases") or [] if p.get("status") != "skipped"]
    for step in result.get("steps") or []:
        phase = str(step.get("phase", "?"))
        if phase not in order:
            order.append(phase)
    return order


def render(result: dict[str, Any]) -> str:
    """The run as pretty-printed JUnit XML (UTF-8, with an XML declaration)."""
    drill = str(result.get("drill") or "drill")
    root = ET.Element("testsuites", {"name": _text(f"drillctl: {drill}")})
    phases = {str(p.get("phase")): p for p in result.get("phases") or []}
    stamp = _timestamp(result.get("started_at"))

    suites: list[ET.Element] = []
    for phase in _phase_order(result):
        info = phases.get(phase, {})
        suite = ET.SubElement(root, "testsuite", {"name": _text(f"{drill}: {phase}")})
        phase_stamp = _timestamp(info.get("started_at")) or stamp
        if phase_stamp:
            suite.set("timestamp", phase_stamp)
        for step in result.get("steps") or []:
            if str(step.get("phase", "?")) == phase:
                _step_case(suite, f"{drill}.{phase}", step)
        _count(suite, info.get("duration_s"))
        suites.append(suite)

    objectives = ET.SubElement(root, "testsuite", {"name": _text(f"{drill}: objectives")})
    if stamp:
        objectives.set("timestamp", stamp)
    _properties(objectives, result)
    _objective_cases(objectives, f"{drill}.objectives", result)
    _count(objectives, 0.0)
    suites.append(objectives)

    for attr in ("tests", "failures", "errors", "skipped"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in suites)))
    total = result.get("duration_s")
    if total is None:
        total = sum(float(s.get("time", "0")) for s in suites)
    root.set("time", _seconds(total))

    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
