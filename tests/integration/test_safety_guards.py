"""Acceptance: production and irreversible drills need explicit flags; one drill per inventory."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env, drillctl_argv, run_drillctl

pytestmark = pytest.mark.integration


def write(
    tmp_path: Path, environment: str, rollback_type: int = 2, deploy: str = "true"
) -> tuple[Path, Path]:
    inventory = tmp_path / "inv.yml"
    inventory.write_text(
        f"all:\n  vars: {{environment: {environment}}}\n  hosts:\n    h1: {{connection: local}}\n"
    )
    playbook = tmp_path / "drill.yml"
    deployed = tmp_path / "deployed"
    # Type 5 never rolls back: its verify checks that the change stands.
    undo = (
        f'verify:\n  - shell: "test -e {deployed}"\n'
        if rollback_type == 5
        else f'rollback:\n  - shell: "rm -f {deployed}"\n'
        f'verify:\n  - shell: "test ! -e {deployed}"\n'
    )
    playbook.write_text(
        f"drill: guarded\nrollback_type: {rollback_type}\n"
        f'deploy:\n  - shell: "touch {deployed}; {deploy}"\n' + undo
    )
    return inventory, playbook


def test_a_production_inventory_refuses_to_run_without_both_flags(tmp_path: Path) -> None:
    inventory, playbook = write(tmp_path, "production")
    for flags in ([], ["--allow-production"], ["--change-id", "CHG-1"]):
        proc = run_drillctl("run", str(playbook), "-i", str(inventory), *flags)
        assert proc.returncode == 2, flags
        assert f"{inventory}:1:1:" in proc.stderr and "environment: production" in proc.stderr
        assert not (tmp_path / "deployed").exists()
    out = tmp_path / "run"
    ok = run_drillctl(
        "run",
        str(playbook),
        "-i",
        str(inventory),
        "--allow-production",
        "--change-id",
        "CHG-1",
        "--out",
        str(out),
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["environment"] == "production" and result["change_id"] == "CHG-1"


def test_plan_against_production_needs_no_flags_because_it_touches_nothing(tmp_path: Path) -> None:
    inventory, playbook = write(tmp_path, "production")
    assert run_drillctl("plan", str(playbook), "-i", str(inventory)).returncode == 0


def test_a_point_of_no_return_deploy_needs_allow_irreversible(tmp_path: Path) -> None:
    inventory, playbook = write(tmp_path, "staging", rollback_type=5)
    proc = run_drillctl("run", str(playbook), "-i", str(inventory))
    assert proc.returncode == 2
    assert "--allow-irreversible" in proc.stderr and "point of no return" in proc.stderr
    assert not (tmp_path / "deployed").exists()
    out = tmp_path / "run"
    ok = run_drillctl(
        "run", str(playbook), "-i", str(inventory), "--allow-irreversible", "--out", str(out)
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (tmp_path / "deployed").exists()
    assert json.loads((out / "result.json").read_text())["rolled_back"] is False


def test_a_second_drill_on_the_same_inventory_says_who_holds_the_lock(tmp_path: Path) -> None:
    inventory, playbook = write(tmp_path, "staging", deploy="sleep 30")
    first = subprocess.Popen(
        drillctl_argv(
            "run",
            str(playbook),
            "-i",
            str(inventory),
            "--out",
            str(tmp_path / "r1"),
            "--operator",
            "alice",
        ),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not (tmp_path / "deployed").exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = run_drillctl(
            "run", str(playbook), "-i", str(inventory), "--out", str(tmp_path / "r2")
        )
        assert second.returncode == 3
        assert "another drill holds the lock" in second.stderr
        assert "alice" in second.stderr and "since 20" in second.stderr
        assert not (tmp_path / "r2").exists()
    finally:
        first.terminate()
        first.communicate(timeout=30)
    quick = tmp_path / "quick.yml"
    quick.write_text(
        "drill: quick\nrollback_type: 2\ndeploy:\n  - shell: 'true'\n"
        "rollback:\n  - shell: 'true'\nverify:\n  - shell: 'true'\n"
    )
    third = run_drillctl("run", str(quick), "-i", str(inventory), "--out", str(tmp_path / "r3"))
    assert third.returncode == 0, "the lock outlived its holder: " + third.stderr
