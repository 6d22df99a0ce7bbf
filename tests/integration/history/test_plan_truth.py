"""A drill plan entry is done only by a passed run made under it; a failed run never reads as
done or Pass anywhere; a voided run is listed but not counted; incidents stay apart."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from runner.history import Quarter, open_store
from tests.conftest import child_env, drillctl_argv

pytestmark = pytest.mark.integration

PASSING = """\
drill: passing drill
component: demo
rollback_type: 1
deploy:
  - {name: change, shell: "true"}
rollback:
  - {name: undo, shell: "true"}
verify:
  - {name: check, shell: "true"}
"""
# verify passes; the rollback fails: the run fails, whatever its verify phase said.
FAILING = PASSING.replace("drill: passing drill", "drill: failing drill").replace(
    '{name: undo, shell: "true"}', '{name: undo, shell: "exit 3"}'
)


def drillctl(work: Path, *args: str, history: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        drillctl_argv(*args),
        cwd=work,
        env=child_env(DRILLCTL_HISTORY=str(history)),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def plan_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("plan")
    quarter = Quarter.of(datetime.now(timezone.utc).date())
    (work / "pass.yml").write_text(PASSING)
    (work / "fail.yml").write_text(FAILING)
    (work / "inv.yml").write_text("all:\n  hosts:\n    localhost: {connection: local}\n")
    due = quarter.last_day
    entries = [("good", "pass.yml", "inv.yml"), ("bad", "fail.yml", "inv.yml")]
    entries.append(("byhand", "pass.yml", "./inv.yml"))
    (work / "plan.yml").write_text(
        f"quarter: {quarter}\ndrills:\n"
        + "".join(
            f"  - {{id: {i}, playbook: {pb}, inventory: {inv}, owner: o, due: {due}}}\n"
            for i, pb, inv in entries
        )
    )
    history = work / "history.db"
    ran = drillctl(
        work, "drill", "run", "plan.yml", "--only", "good", "--only", "bad", history=history
    )
    # A passed run by hand with the `byhand` entry's files (spelled otherwise): not planned.
    by_hand = drillctl(work, "run", "pass.yml", "-i", "inv.yml", history=history)
    incident = drillctl(
        work, "run", "pass.yml", "-i", "inv.yml", "--kind", "incident", history=history
    )
    status = drillctl(work, "drill", "status", "plan.yml", "--format", "json", history=history)
    return {
        "work": work,
        "history": history,
        "quarter": quarter,
        "ran": ran,
        "by_hand": by_hand,
        "incident": incident,
        "status": status,
    }


def test_a_failed_run_under_an_entry_never_makes_it_done(plan_run: dict[str, Any]) -> None:
    ran, status = plan_run["ran"], plan_run["status"]
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "1 of 2 drills passed" in ran.stdout
    assert status.returncode == 0, status.stderr
    states = {d["entry_id"]: d for d in json.loads(status.stdout)["drills"]}
    assert states["good"]["state"] == "done" and not states["good"]["late"]
    assert states["bad"]["state"] == "failed" and states["bad"]["last_status"] == "failed"
    assert states["bad"]["done_by"] is None


def test_a_run_by_hand_is_unplanned_and_does_not_make_an_entry_done(
    plan_run: dict[str, Any],
) -> None:
    assert plan_run["by_hand"].returncode == 0, plan_run["by_hand"].stderr
    states = {d["entry_id"]: d for d in json.loads(plan_run["status"].stdout)["drills"]}
    assert states["byhand"]["state"] == "pending"
    assert states["byhand"]["runs"] == 0 and states["byhand"]["unplanned_runs"] == 1


def test_each_planned_run_records_its_entry_and_its_reports_carry_its_verdict(
    plan_run: dict[str, Any],
) -> None:
    quarter = plan_run["quarter"]
    runs_dir = plan_run["work"] / "drills" / "runs"
    by_entry = {}
    for run_dir in runs_dir.iterdir():
        result = json.loads((run_dir / "result.json").read_text())
        by_entry[result["plan_entry"]] = (run_dir, result)
    assert set(by_entry) >= {f"{quarter}/good", f"{quarter}/bad"}
    run_dir, result = by_entry[f"{quarter}/bad"]
    assert result["status"] == "failed"
    assert [p["status"] for p in result["phases"] if p["phase"] == "verify"] == ["ok"]
    page = (run_dir / "report.html").read_text()
    assert "<th>Final validation</th><td>Fail (failed): rollback failed" in page
    assert "Pass" not in (run_dir / "report.md").read_text()


def test_quarterly_keeps_incidents_apart_and_lists_a_voided_run(plan_run: dict[str, Any]) -> None:
    work, history, quarter = plan_run["work"], plan_run["history"], plan_run["quarter"]
    assert plan_run["incident"].returncode == 0, plan_run["incident"].stderr
    with open_store(history) as store:
        rows = store.runs()
    assert sorted(r.kind for r in rows) == ["drill", "drill", "drill", "incident"]
    bad = next(r for r in rows if r.status == "failed")
    refused = drillctl(work, "history", "void", bad.run_id, "--reason", " ", history=history)
    assert refused.returncode == 2 and "say why" in refused.stderr
    voided = drillctl(
        work, "history", "void", bad.run_id, "--reason", "wrong inventory", history=history
    )
    assert voided.returncode == 0, voided.stderr
    out = work / "reports" / "q.md"
    out.parent.mkdir()
    report = drillctl(
        work, "quarterly", str(quarter), "--plan", "plan.yml", "--out", str(out), history=history
    )
    assert report.returncode == 0, report.stderr
    text = out.read_text()
    assert "2 drill runs" in text and "1 real incident" in text
    assert "## Voided runs" in text and "wrong inventory" in text
    assert "## Failed drills\n\nNone." in text  # the voided failure counts nowhere
    status = drillctl(work, "drill", "status", "plan.yml", "--format", "json", history=history)
    states = {d["entry_id"]: d["state"] for d in json.loads(status.stdout)["drills"]}
    assert states["bad"] == "pending"
