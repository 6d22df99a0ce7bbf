"""Acceptance: a manual decision waits for `drillctl approve`, records the time to decide,
and without approval times out as configured."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env, drillctl_argv, events, run_drillctl

pytestmark = pytest.mark.integration


def drill(tmp_path: Path, timeout: str, on_timeout: str, approvers: int = 1) -> Path:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: manual\nrollback_type: 2\n"
        f"decision: {{manual: true, timeout: {timeout}, on_timeout: {on_timeout}, "
        f"approvers: {approvers}}}\n"
        "deploy:\n  - {name: bad change, shell: 'exit 1'}\n"
        f"rollback:\n  - shell: 'touch {tmp_path}/rolled-back'\n"
        f"verify:\n  - shell: 'test -e {tmp_path}/rolled-back'\n"
    )
    return playbook


def test_approve_from_another_terminal_starts_the_rollback_and_records_time_to_decide(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        drillctl_argv("run", str(drill(tmp_path, "30s", "abort")), "--out", str(out)),
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not any(e["event"] == "decision_requested" for e in _events(out)):
        assert time.monotonic() < deadline, "the drill never asked for a decision"
        time.sleep(0.05)
    asked = time.monotonic()
    time.sleep(1.0)  # the operator thinks
    assert not (tmp_path / "rolled-back").exists(), "rolled back before approval"
    approve = run_drillctl("approve", str(out), "--operator", "bob")
    assert approve.returncode == 0
    # From the question to the approval, as this test saw it (a busy machine stretches
    # `drillctl approve` itself), plus a little for the drill to take the approval in.
    answered_within = time.monotonic() - asked + 2.0
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stdout + stderr
    assert "drillctl approve" in stdout  # the prompt says how to approve
    result = json.loads((out / "result.json").read_text())
    assert result["rolled_back"] is True
    assert 1.0 <= result["measured"]["time_to_decide_s"] < answered_within
    decision = next(e for e in events(out) if e["event"] == "decision")
    assert decision["mode"] == "manual" and decision["approved_by"] == "bob"


def _events(out: Path) -> list[dict[str, object]]:
    try:
        return events(out)
    except (FileNotFoundError, json.JSONDecodeError):
        return []


def test_without_approval_the_decision_times_out_and_aborts_as_configured(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run_drillctl("run", str(drill(tmp_path, "1s", "abort")), "--out", str(out))
    assert proc.returncode == 1
    result = json.loads((out / "result.json").read_text())
    assert result["rolled_back"] is False
    assert "no rollback decision in time" in result["reason"]
    assert not (tmp_path / "rolled-back").exists()
    decision = next(e for e in events(out) if e["event"] == "decision")
    assert decision["timed_out"] is True


def test_without_approval_the_decision_times_out_into_the_rollback_when_configured(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    proc = run_drillctl("run", str(drill(tmp_path, "1s", "rollback")), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["rolled_back"] is True and (tmp_path / "rolled-back").exists()
    assert result["measured"]["time_to_decide_s"] >= 1.0


def test_a_quorum_of_two_waits_for_two_distinct_approvers_and_names_both(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        drillctl_argv("run", str(drill(tmp_path, "30s", "abort", approvers=2)), "--out", str(out)),
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not any(e["event"] == "decision_requested" for e in _events(out)):
        assert time.monotonic() < deadline, "the drill never asked for a decision"
        time.sleep(0.05)
    assert run_drillctl("approve", str(out), "--operator", "alice").returncode == 0
    again = run_drillctl("approve", str(out), "--operator", "alice")
    assert again.returncode == 2 and "already" in again.stderr
    time.sleep(1.0)
    assert proc.poll() is None and not (tmp_path / "rolled-back").exists(), "one is not two"
    assert run_drillctl("approve", str(out), "--operator", "bob").returncode == 0
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stdout + stderr
    assert "2 approvals from distinct operators" in stdout
    assert (tmp_path / "rolled-back").exists()
    decision = next(e for e in events(out) if e["event"] == "decision")
    assert [a["by"] for a in decision["approvals"]] == ["alice", "bob"]
    result = json.loads((out / "result.json").read_text())
    assert [a["by"] for a in result["provenance"]["approvers"]] == ["alice", "bob"]
    for report in ("report.md", "report.html"):
        text = (out / report).read_text()
        assert "alice" in text and "bob" in text, report
