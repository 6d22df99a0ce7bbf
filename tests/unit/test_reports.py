"""Per-drill reports (Markdown, JUnit XML, HTML) rendered from a run's result.json dict."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from runner.report import html, junit, markdown
from runner.report.writer import write_reports
from runner.secrets import SecretMask

T0 = "2026-10-05T09:00:00.000Z"


def _at(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"2026-10-05T09:{int(minutes):02d}:{secs:06.3f}Z"


def _step(
    phase: str, name: str, host: str, status: str = "ok", at: float = 0.0, **extra: Any
) -> dict[str, Any]:
    step = {
        "phase": phase,
        "name": name,
        "action": "command",
        "host": host,
        "status": status,
        "started_at": _at(at),
        "duration_s": 0.5,
        "rc": 0 if status == "ok" else 1,
        "attempts": 1,
        "msg": "",
    }
    step.update(extra)
    return step


def _phase(name: str, status: str = "ok", at: float = 0.0, duration: float = 2.0) -> dict[str, Any]:
    return {"phase": name, "status": status, "started_at": _at(at), "duration_s": duration}


def _result(**overrides: Any) -> dict[str, Any]:
    """A passing type-2 drill that rolled back after a failed health check in deploy."""
    result: dict[str, Any] = {
        "schema_version": 1,
        "run_id": "20261005T090000Z-order-gateway",
        "drill": "order-gateway code rollback",
        "component": "order-gateway",
        "playbook": "playbooks/order-gateway.yml",
        "inventory": "inventories/lab.yml",
        "environment": "staging",
        "operator": "alice",
        "change_id": "CHG-1234",
        "status": "passed",
        "reason": "rolled back and verified; objectives met",
        "started_at": T0,
        "ended_at": _at(12.0),
        "duration_s": 12.0,
        "rollback_type": 2,
        "objectives": {"rto_s": 300.0, "rpo_s": 0.0},
        "budget_s": 300.0,
        "measured": {
            "time_to_detect_s": 1.2,
            "time_to_decide_s": 0.1,
            "time_to_rollback_s": 3.4,
            "rto_s": 6.0,
            "downtime_s": 4.5,
            "lost_writes": 0,
            "rpo_s": 0.0,
        },
        "verdicts": {"rto": "met", "rpo": "met", "budget": "met"},
        "rolled_back": True,
        "rollback_succeeded": True,
        "trigger": {
            "kind": "step_failed",
            "phase": "deploy",
            "step": "health check",
            "host": "web2",
            "at": _at(3.0),
        },
        "faults": [],
        "phases": [
            _phase("prepare", at=0.0),
            _phase("deploy", "failed", at=2.0),
            {
                "phase": "inject",
                "status": "skipped",
                "started_at": "",
                "duration_s": 0.0,
                "skipped_reason": "deploy failed",
            },
            _phase("rollback", at=4.0, duration=3.4),
            _phase("verify", at=8.0),
            _phase("cleanup", at=10.0),
        ],
        "steps": [
            _step("prepare", "install 3.1.2", "web1", at=0.1),
            _step("prepare", "install 3.1.2", "web2", at=0.1),
            _step("deploy", "install 3.2.0", "web1", at=2.1),
            _step("deploy", "health check", "web2", "failed", at=2.8, msg="HTTP 503 from /health"),
            _step("rollback", "install 3.1.2", "web1", at=4.1),
            _step("rollback", "install 3.1.2", "web2", at=4.1),
            _step("verify", "health check", "web1", at=8.1),
            _step("verify", "health check", "web2", at=8.1),
            _step("cleanup", "remove temp files", "web1", "skipped", at=10.1, msg="when: false"),
        ],
    }
    result.update(overrides)
    return result


def _failed_verify() -> dict[str, Any]:
    result = _result(
        status="failed",
        reason="verify failed after rollback",
        verdicts={"rto": "missed", "rpo": "met", "budget": "met"},
    )
    result["measured"]["rto_s"] = 412.0
    result["phases"][4]["status"] = "failed"
    result["steps"][7] = _step(
        "verify", "health check", "web2", "failed", at=8.1, msg="expected 200, got 500"
    )
    return result


def _unmeasured() -> dict[str, Any]:
    result = _result(verdicts={"rto": None, "rpo": None, "budget": None}, trigger=None)
    result["measured"] = dict.fromkeys(result["measured"])
    return result


def _two_hundred_steps() -> dict[str, Any]:
    steps = []
    for i in range(200):
        status = "failed" if i % 9 == 0 else ("skipped" if i % 7 == 0 else "ok")
        steps.append(_step("deploy", f"step {i}", f"web{i % 10}", status, at=2 + i * 0.01))
    return _result(status="failed", steps=steps)


def _junit(result: dict[str, Any]) -> ET.Element:
    return ET.fromstring(junit.render(result).encode("utf-8"))


def _suite(root: ET.Element, suffix: str) -> ET.Element:
    suites = [s for s in root.findall("testsuite") if s.get("name", "").endswith(suffix)]
    assert len(suites) == 1, [s.get("name") for s in root.findall("testsuite")]
    return suites[0]


def _case(suite: ET.Element, name: str) -> ET.Element:
    found = [c for c in suite.findall("testcase") if c.get("name") == name]
    assert len(found) == 1, name
    return found[0]


# --- Markdown -------------------------------------------------------------------------------


def test_markdown_opens_with_the_verdict_and_the_drill_name() -> None:
    text = markdown.render(_result())
    assert text.splitlines()[0] == "## ✅ PASSED — order-gateway code rollback"
    assert "rolled back and verified; objectives met" in text


def test_markdown_failed_run_says_failed_and_lists_the_failed_verify_step() -> None:
    text = markdown.render(_failed_verify())
    assert text.startswith("## ❌ FAILED")
    assert "expected 200, got 500" in text
    assert "[web2]" in text
    assert "❌ missed" in text


def test_markdown_has_an_objectives_table_with_rto_rpo_and_the_type_budget() -> None:
    text = markdown.render(_result())
    assert "| Figure | Objective | Measured | Verdict |" in text
    assert "| RTO | 5 min | 6.00 s | ✅ met |" in text
    assert "| RPO | 0.00 s | 0.00 s | ✅ met |" in text
    assert "Time to roll back (type 2 budget) | 5 min | 3.40 s" in text
    assert "Time to decide" in text


def test_markdown_shows_not_measured_never_zero_for_missing_figures() -> None:
    text = markdown.render(_unmeasured())
    rto_line = next(line for line in text.splitlines() if line.startswith("| RTO "))
    assert rto_line == "| RTO | 5 min | not measured | not measured |"
    lost_line = next(line for line in text.splitlines() if line.startswith("| Lost writes "))
    assert "not measured" in lost_line and " 0 " not in lost_line


def test_markdown_stays_under_60_lines_for_200_steps_and_lists_at_most_10_failures() -> None:
    result = _two_hundred_steps()
    text = markdown.render(result)
    failures = [s for s in result["steps"] if s["status"] == "failed"]
    assert len(text.splitlines()) < 60
    assert f"**Failed** (10 of {len(failures)})" in text
    assert "200 step runs" in text
    assert f"{len(failures)} failed" in text


def test_markdown_keeps_pipes_and_html_in_messages_from_breaking_the_report() -> None:
    result = _failed_verify()
    result["steps"][7]["msg"] = "a | b <script>alert(1)</script>\nsecond line"
    text = markdown.render(result)
    assert "<script>" not in text
    assert "a \\| b" in text


# --- JUnit ----------------------------------------------------------------------------------


def test_junit_is_utf8_xml_with_a_declaration_and_one_suite_per_phase_that_ran() -> None:
    text = junit.render(_result())
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    root = _junit(_result())
    names = [s.get("name") for s in root.findall("testsuite")]
    assert names == [
        "order-gateway code rollback: prepare",
        "order-gateway code rollback: deploy",
        "order-gateway code rollback: rollback",
        "order-gateway code rollback: verify",
        "order-gateway code rollback: cleanup",
        "order-gateway code rollback: objectives",
    ]


def test_junit_counts_are_right_on_each_suite_and_on_testsuites() -> None:
    root = _junit(_result())
    deploy = _suite(root, ": deploy")
    assert (deploy.get("tests"), deploy.get("failures"), deploy.get("skipped")) == ("2", "1", "0")
    assert deploy.get("time") == "2.000"
    cleanup = _suite(root, ": cleanup")
    assert (cleanup.get("tests"), cleanup.get("skipped")) == ("1", "1")
    objectives = _suite(root, ": objectives")
    assert (objectives.get("tests"), objectives.get("failures")) == ("4", "0")
    # 9 step runs + rto, rpo, budget, drill status.
    assert root.get("tests") == "13"
    assert (root.get("failures"), root.get("errors"), root.get("skipped")) == ("1", "0", "1")
    assert root.get("time") == "12.000"
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None for c in cases)


def test_junit_testcase_names_step_and_host_under_drill_dot_phase() -> None:
    case = _case(_suite(_junit(_result()), ": deploy"), "health check [web2]")
    assert case.get("classname") == "order-gateway code rollback.deploy"
    assert case.get("time") == "0.500"


def test_junit_failed_step_is_a_failure_with_its_message() -> None:
    verify = _suite(_junit(_failed_verify()), ": verify")
    failure = _case(verify, "health check [web2]").find("failure")
    assert failure is not None
    assert failure.get("message") == "expected 200, got 500"
    assert _case(verify, "health check [web1]").find("failure") is None


def test_junit_missed_objective_and_failed_drill_are_failures() -> None:
    objectives = _suite(_junit(_failed_verify()), ": objectives")
    rto = _case(objectives, "rto").find("failure")
    assert rto is not None and "6 min 52 s" in rto.get("message", "")
    assert _case(objectives, "rpo").find("failure") is None
    assert _case(objectives, "drill status").find("failure") is not None
    assert objectives.get("failures") == "2"


def test_junit_objectives_set_but_not_measured_fail_never_pass_or_skip() -> None:
    objectives = _suite(_junit(_unmeasured()), ": objectives")
    for name in ("rto", "rpo"):
        failure = _case(objectives, name).find("failure")
        assert failure is not None and "not measured" in failure.get("message", "")
    # No rollback time to judge: the budget is not an objective the drill set out to prove.
    skipped = _case(objectives, "budget").find("skipped")
    assert skipped is not None and skipped.get("message") == "not measured"
    assert (objectives.get("failures"), objectives.get("skipped")) == ("2", "1")


def test_junit_skips_an_unmeasured_figure_without_an_objective() -> None:
    result = _unmeasured()
    result["objectives"] = {"rto_s": None, "rpo_s": None}
    objectives = _suite(_junit(result), ": objectives")
    for name in ("rto", "rpo"):
        assert _case(objectives, name).find("skipped") is not None
        assert _case(objectives, name).find("failure") is None


def test_junit_environment_error_is_an_error_not_a_failure() -> None:
    root = _junit(_result(status="error", reason="host web2 unreachable"))
    assert _case(_suite(root, ": objectives"), "drill status").find("error") is not None
    assert root.get("errors") == "1"


def test_junit_strips_control_characters_that_would_make_invalid_xml() -> None:
    result = _failed_verify()
    result["steps"][7]["msg"] = "\x1b[31mred\x1b[0m \x00 done"
    failure = _case(_suite(_junit(result), ": verify"), "health check [web2]").find("failure")
    assert failure is not None and "red" in failure.get("message", "")


# --- HTML -----------------------------------------------------------------------------------


def test_html_is_self_contained_with_a_verdict_banner_and_an_svg_timeline() -> None:
    page = html.render(_result())
    assert page.startswith("<!DOCTYPE html>")
    assert "PASSED — order-gateway code rollback" in page
    assert "<svg" in page and "</svg>" in page
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "trigger" in page


def test_html_fills_the_seed_test_documentation_record() -> None:
    page = html.render(_failed_verify())
    for label, value in (
        ("Test environment", "staging"),
        ("Tester", "alice"),
        ("Rollback time", "3.40 s"),
        ("Modifications made", "change CHG-1234"),
        ("Final validation", "Fail"),
    ):
        assert f"<th>{label}</th><td>{value}" in page
    assert "expected 200, got 500" in page


def test_html_escapes_markup_in_step_names() -> None:
    result = _result()
    result["steps"][0]["name"] = "<script>alert('x')</script>"
    page = html.render(result)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_html_draws_one_bar_per_step_run_and_says_not_measured() -> None:
    page = html.render(_unmeasured())
    assert page.count('rx="1"') == len(_unmeasured()["steps"])
    assert "not measured" in page


# --- writer ---------------------------------------------------------------------------------


def test_write_reports_writes_three_masked_files_atomically(tmp_path: Path) -> None:
    result = _failed_verify()
    result["steps"][7]["msg"] = "login failed for password s3cr3t <&>"
    original = copy.deepcopy(result)
    paths = write_reports(tmp_path, result, SecretMask(["s3cr3t"]))
    assert [p.name for p in paths] == ["report.md", "junit.xml", "report.html"]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "s3cr3t" not in text
        assert "********" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html", "report.md"]
    assert result == original


@pytest.mark.parametrize("secret", ["p&ss<1>", "under_score"])
def test_write_reports_masks_secrets_that_rendering_would_escape(
    tmp_path: Path, secret: str
) -> None:
    result = _failed_verify()
    result["steps"][7]["msg"] = f"token={secret}"
    for path in write_reports(tmp_path, result, SecretMask([secret])):
        text = path.read_text(encoding="utf-8")
        assert "ss&lt;1" not in text and "under" not in text, path.name


def test_every_report_renders_an_error_run_that_recorded_almost_nothing(tmp_path: Path) -> None:
    result: dict[str, Any] = {
        "schema_version": 1,
        "drill": "bare",
        "status": "error",
        "reason": "no Docker engine",
        "objectives": {"rto_s": None, "rpo_s": None},
        "measured": {},
        "verdicts": {},
        "trigger": None,
        "phases": [],
        "steps": [],
    }
    assert markdown.render(result).startswith("## ⚠️ ERROR — bare")
    assert _junit(result).get("errors") == "1"
    assert "Final validation</th><td>Fail (error): no Docker engine" in html.render(result)
    assert len(write_reports(tmp_path, result, SecretMask())) == 3


# --- one verdict ----------------------------------------------------------------------------


def _verify_passed_but_rto_missed() -> dict[str, Any]:
    """verify itself passed; the run failed on its RTO objective."""
    result = _result(
        status="failed",
        reason="measured RTO 412.00s is over the objective of 300s",
        verdicts={"rto": "missed", "rpo": "met", "budget": "met"},
    )
    result["measured"]["rto_s"] = 412.0
    return result


def _rpo_not_measured() -> dict[str, Any]:
    result = _result(
        status="failed",
        reason="RPO not measured",
        verdicts={"rto": "met", "rpo": "not measured", "budget": "met"},
    )
    result["measured"]["rpo_s"] = None
    result["measured"]["lost_writes"] = None
    return result


@pytest.mark.parametrize(
    "make", [_verify_passed_but_rto_missed, _rpo_not_measured, _failed_verify, _two_hundred_steps]
)
def test_a_failed_run_never_says_pass_in_any_report(make: Any) -> None:
    result = make()
    page = html.render(result)
    text = markdown.render(result)
    assert "Final validation</th><td>Fail (failed): " in page
    assert ">Pass<" not in page and "Pass" not in text
    assert "PASSED" not in page and "PASSED" not in text
    assert _case(_suite(_junit(result), ": objectives"), "drill status").find("failure") is not None


def test_final_validation_is_pass_only_on_a_passed_run() -> None:
    assert "Final validation</th><td>Pass</td>" in html.render(_result())


def test_issues_found_lists_every_missed_or_unmeasured_objective_and_failed_step() -> None:
    result = _verify_passed_but_rto_missed()
    result["verdicts"]["rpo"] = "not measured"
    result["measured"]["rpo_s"] = None
    result["verdicts"]["budget"] = "missed"
    result["measured"]["time_to_rollback_s"] = 400.0
    page = html.render(result)
    issues = page.split("<th>Issues found</th><td>", 1)[1].split("</td>", 1)[0]
    text = markdown.render(result)
    md_issues = text.split("### Issues found", 1)[1]
    for expected in (
        "failed: measured RTO 412.00s is over the objective of 300s",
        "RTO missed: measured 412 s, objective 300 s",
        "RPO not measured (objective 0 s)",
        "time to roll back 400 s is over the type 2 budget of 300 s",
        "deploy / health check [web2] failed (rc 1): HTTP 503 from /health",
    ):
        assert expected in issues, expected
    for expected in ("RTO missed", "RPO not measured", "over the type 2 budget"):
        assert expected in md_issues, expected
    assert "health check" in md_issues and "HTTP 503 from /health" in md_issues


def test_an_objective_set_but_not_measured_is_an_issue_even_when_the_verdict_is_null() -> None:
    issues = html.render(_unmeasured()).split("<th>Issues found</th><td>", 1)[1]
    assert "RTO not measured (objective 300 s)" in issues
    assert "RPO not measured (objective 0 s)" in issues


def test_a_passed_run_without_issues_says_none() -> None:
    result = _result()
    result["steps"] = [s for s in result["steps"] if s["status"] != "failed"]
    assert "<th>Issues found</th><td>none</td>" in html.render(result)
    assert "### Issues found\n\nNone." in markdown.render(result)


def test_junit_replaces_exactly_the_characters_xml_1_0_forbids() -> None:
    # Every code point, against the XML 1.0 Char production written out as a predicate.
    def allowed(c: int) -> bool:
        return c in (0x9, 0xA, 0xD) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or c >= 0x10000

    every = "".join(map(chr, range(0x110000)))
    cleaned = junit._text(every)
    assert len(cleaned) == len(every)
    kept = [c for c in range(0x110000) if cleaned[c] == every[c]]
    replaced = [c for c in range(0x110000) if cleaned[c] != every[c]]
    assert all(allowed(c) for c in kept)
    assert not any(allowed(c) for c in replaced)
    assert {cleaned[c] for c in replaced} == {"\ufffd"}
    assert replaced[:3] == [0, 1, 2] and 0xFFFE in replaced and 0xD800 in replaced
