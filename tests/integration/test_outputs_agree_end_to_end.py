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
