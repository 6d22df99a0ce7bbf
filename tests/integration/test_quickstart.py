"""Acceptance: the quick-start drill runs on the embedded local lab with Python alone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import events, run_drillctl, run_quickstart

pytestmark = pytest.mark.integration


def lab_processes(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "-m runner lab" in line]


def test_quickstart_rolls_back_verifies_and_leaves_evidence(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_quickstart(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "passed"
    assert result["rolled_back"] is True
    assert result["rollback_succeeded"] is True
    # The health probe (3 failures at 100 ms) or the deploy's own health check decides first.
    assert result["trigger"]["kind"] in ("probe", "step_failed")
    assert result["trigger"]["phase"] == "deploy"
    assert result["verdicts"]["budget"] == "met"
    # Recovery measured, not guessed: every figure result.json defines, and the verdicts.
    measured = result["measured"]
    for key in (
        "time_to_detect_s",
        "time_to_decide_s",
        "time_to_rollback_s",
        "rto_s",
        "downtime_s",
    ):
        assert isinstance(measured[key], float) and measured[key] >= 0, key
    assert measured["lost_writes"] == 0 and measured["rpo_s"] == 0.0
    assert 0 < measured["rto_s"] < 30
    timeline = result["timeline"]
    for key in ("t0", "detected", "decided", "rollback_started", "rollback_ended", "recovered"):
        assert timeline[key] and timeline[key].endswith("Z"), key
    assert timeline["t0"] <= timeline["detected"] <= timeline["decided"] <= timeline["recovered"]
    assert result["verdicts"]["rto"] == "met" and result["verdicts"]["rpo"] == "met"
    assert result["data"][0]["lost"] == 0 and result["data"][0]["stable"] > 0
    assert next(iter(result)) == "schema_version"
    names = [e["event"] for e in events(out)]
    assert names[0] == "run_started" and names[-1] == "run_finished"
    assert "trigger_fired" in names
    assert not lab_processes(str(out)), "a lab process outlived the drill"
    assert run_drillctl("verify", str(out)).returncode == 0


def test_quickstart_prints_where_its_evidence_is(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_quickstart(out)
    assert proc.returncode == 0, proc.stderr
    assert f"report: {out}" in proc.stdout
    assert "PASSED" in proc.stdout
