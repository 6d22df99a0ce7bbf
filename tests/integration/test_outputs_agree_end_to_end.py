"""Every output of real `drillctl run` processes tells the same story: the exit code,
result.json, the reports, `drillctl verify`, `drillctl history`, `drillctl quarterly` and
`drillctl metrics`, for a passed drill, a failed rollback and a rollback that ran no step.

The drills run local shell commands on this machine; each test has its own history file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_drillctl

pytestmark = pytest.mark.integration

DRILL = """\
drill: agree-DRILLNAME
component: agree
rollback_type: 2
deploy:
  - {name: change, shell: "touch DIR/changed"}
rollback:
  - ROLLBACK
verify:
  - {name: check, shell: "test -f DIR/changed"}
"""
OUTCOMES = {
    # name: (rollback step, status, exit code, rollback_succeeded)
    "passed": ('{name: undo, shell: "true"}', "passed", 0, True),
    "rollback-failed": ('{name: undo, shell: "exit 3"}', "failed", 1, False),
    "rollback-ran-nothing": ('{name: undo, shell: "true", when: false}', "failed", 1, False),
}


def drill_run(tmp_path: Path, name: str, history: Path) -> tuple[int, dict[str, Any], Path]:
    rollback, _, _, _ = OUTCOMES[name]
    work = tmp_path / name
    work.mkdir()
    playbook = work / "drill.yml"
    text = DRILL.replace("DRILLNAME", name).replace("ROLLBACK", rollback)
    playbook.write_text(text.replace("DIR", str(work)))
    out = work / "run"
    proc = run_drillctl("run", str(playbook), "--out", str(out), "--history", str(history))
    assert (out / "result.json").exists(), proc.stdout + proc.stderr
    return proc.returncode, json.loads((out / "result.json").read_text()), out


def test_a_runs_exit_code_files_history_and_quarterly_agree(tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    results = {}
    for name, (_, status, code, succeeded) in OUTCOMES.items():
        rc, result, out = drill_run(tmp_path, name, history)
        assert (rc, result["status"], result["rollback_succeeded"]) == (code, status, succeeded)
        md = (out / "report.md").read_text()
        assert f"{status.upper()} — agree-{name}" in md
        assert ("Rolled back:** yes, succeeded" in md) == succeeded
        verified = run_drillctl("verify", str(out))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        results[name] = result
    listed = run_drillctl("history", "list", "--format", "json", "--history", str(history))
    assert listed.returncode == 0, listed.stderr
    rows = {r["run_id"]: r for r in json.loads(listed.stdout)}
    assert len(rows) == len(OUTCOMES)
    for result in results.values():
        row = rows[result["run_id"]]
        assert (row["status"], row["rollback_succeeded"]) == (
            result["status"],
            result["rollback_succeeded"],
        )
        assert row["time_to_rollback_s"] == result["measured"]["time_to_rollback_s"]
        assert row["lost_writes"] is None
    quarter = str(rows[results["passed"]["run_id"]]["quarter"])
    report = run_drillctl("quarterly", quarter, "--format", "json", "--history", str(history))
    assert report.returncode == 0, report.stderr
    total = json.loads(report.stdout)["total"]
    assert total["by_status"] == {"failed": 2, "passed": 1}
    assert (total["rollback_success"]["hits"], total["rollback_success"]["total"]) == (1, 3)
    assert total["lost_writes"] is None  # no run measured its loss
    assert total["rollback"]["count"] == 2  # the rollback that ran nothing has no time
    metrics = run_drillctl("metrics", "--history", str(history))
    assert metrics.returncode == 0, metrics.stderr
    assert 'drillctl_runs_total{component="agree",status="failed"} 2' in metrics.stdout
    assert "drillctl_lost_writes_total{" not in metrics.stdout
    assert 'drillctl_rollback_success_ratio{component="agree"} 0.3333' in metrics.stdout


DATA_DRILL = """\
drill: agree-data-DRILLNAME
component: agree-data
rollback_type: 2
objectives: {rpo: 0s}
probes:
  ledger:
    data:
      write: {shell: "echo {{ seq }} >> DIR/ledger"}
      read: {shell: "READ", timeout: 1s, deadline: 2s}
    every: 100ms
deploy:
  - {name: change, shell: "sleep 0.5"}
rollback:
  - {name: undo, shell: "true"}
verify:
  - {name: check, shell: "true"}
"""


@pytest.mark.parametrize(
    ("name", "read", "measured"),
    [
        pytest.param("read-back", "cat DIR/ledger", True, id="read-back-works"),
        pytest.param("read-fails", "exit 1", False, id="read-back-fails"),
    ],
)
def test_lost_writes_not_measured_are_nowhere_a_zero(
    tmp_path: Path, name: str, read: str, measured: bool
) -> None:
    """A data probe whose read-back works measures 0 lost writes and meets an RPO of 0;
    one whose read-back fails measured nothing: null, 'not measured' and a failed drill in
    every output, never a 0 or a met."""
    history = tmp_path / "history.db"
    playbook = tmp_path / "drill.yml"
    text = DATA_DRILL.replace("DRILLNAME", name).replace("READ", read)
    playbook.write_text(text.replace("DIR", str(tmp_path)))
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "--out", str(out), "--history", str(history))
    output = proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    figures = result["measured"]
    md = (out / "report.md").read_text()
    listed = run_drillctl("history", "list", "--format", "json", "--history", str(history))
    [row] = json.loads(listed.stdout)
    metrics = run_drillctl("metrics", "--history", str(history)).stdout
    if measured:
        assert (proc.returncode, result["status"]) == (0, "passed"), output
        assert (figures["lost_writes"], result["verdicts"]["rpo"]) == (0, "met")
        assert "lost writes       0" in output
        assert row["lost_writes"] == 0
        assert 'drillctl_lost_writes_total{component="agree-data"} 0' in metrics
    else:
        assert (proc.returncode, result["status"]) == (1, "failed"), output
        assert figures["lost_writes"] is None and figures["rpo_s"] is None
        assert "lost_writes" in figures["reasons"] and "rpo_s" in figures["reasons"]
        assert result["verdicts"]["rpo"] == "not measured"
        assert "lost writes       n/a" in output
        assert "| Lost writes | — | not measured | not measured |" in md
        assert "RPO not measured" in md
        assert (row["lost_writes"], row["rpo_s"], row["verdict_rpo"]) == (
            None,
            None,
            "not measured",
        )
        assert "drillctl_lost_writes_total{" not in metrics
        assert 'drillctl_rpo_attainment_ratio{component="agree-data"} 0' in metrics
