"""Acceptance: the run's reports read as evidence: HTML in a real browser, JUnit against the
common schema, Markdown short enough for a pull-request comment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, run_drillctl, run_quickstart

pytestmark = pytest.mark.integration

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("qs") / "run"
    proc = run_quickstart(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def test_report_html_renders_in_chromium_with_timeline_and_verdict_and_no_console_errors(
    quickstart_run: Path, tmp_path: Path
) -> None:
    browser = chromium()
    page = (quickstart_run / "report.html").resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [browser, *CHROMIUM_FLAGS, *profile, "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<svg" in dom.stdout, "the timeline SVG is not in the rendered DOM"
    assert "PASSED" in dom.stdout.upper()
    console_errors = [
        line
        for line in dom.stderr.splitlines()
        if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)
    ]
    assert not console_errors, console_errors
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            *profile,
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def validate_junit(path: Path) -> ET.Element:
    import xmlschema

    xmlschema.XMLSchema(str(REPO / "tests" / "fixtures" / "junit.xsd")).validate(str(path))
    return ET.parse(path).getroot()


def test_junit_validates_against_the_common_schema(quickstart_run: Path) -> None:
    root = validate_junit(quickstart_run / "junit.xml")
    assert root.tag == "testsuites" and int(root.get("tests", "0")) > 0


def test_a_missed_objective_is_a_failing_testcase(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        (REPO / "playbooks" / "quickstart.yml").read_text().replace("{rto: 1m", "{rto: 1ms")
    )
    out = tmp_path / "run"
    proc = run_drillctl(
        "run",
        str(playbook),
        "-i",
        str(REPO / "inventories" / "local.yml"),
        "-e",
        f"lab_port={free_port()}",
        "--out",
        str(out),
    )
    result = json.loads((out / "result.json").read_text())
    assert result["verdicts"]["rto"] == "missed"
    assert proc.returncode == 1 and "measured RTO" in result["reason"]
    root = validate_junit(out / "junit.xml")
    failing = [
        case.get("name", "") for case in root.iter("testcase") if case.find("failure") is not None
    ]
    assert any("rto" in name.lower() for name in failing), failing


def test_report_md_is_short_with_verdict_objectives_and_timeline(quickstart_run: Path) -> None:
    text = (quickstart_run / "report.md").read_text()
    lines = text.splitlines()
    assert len(lines) < 60
    assert "PASSED" in lines[0].upper()
    assert "| RTO" in text or "RTO |" in text
    assert "rollback" in text.lower()
