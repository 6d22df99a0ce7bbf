"""A fault's revert, checked, then checked again after `settle_s`: a fault still landing is
caught and retried, never reported reverted; a mutation run found no unit test of it.
"""

from __future__ import annotations

from pathlib import Path

from runner.connections.pool import ConnectionPool
from runner.faults.base import SHELL, FaultOp, FaultPlan
from runner.faults.revert import Convergence, revert_plan
from runner.inventory import load_inventory
from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import write_inventory

PLAN = FaultPlan(
    "custom",
    "h1",
    "marker x",
    (FaultOp(SHELL, "fault-on x"),),
    (FaultOp(SHELL, "fault-off x"),),
    check=FaultOp(SHELL, "fault-check x"),
)


def reverting(tmp_path: Path, comes_back: int, how: Convergence) -> tuple[bool, str, FakeTarget]:
    """Revert the marker fault; the first `comes_back` settle checks find it landed again."""
    target = FakeTarget()
    target.faults_on.add("x")
    checks = 0

    def landing(call: Call) -> None:
        nonlocal checks
        if call.word == "fault-check":
            checks += 1
            if checks % 2 == 0 and checks // 2 <= comes_back:  # every second check settles
                target.faults_on.add("x")

    target.on("x", landing)
    host = load_inventory(write_inventory(tmp_path, {"h1": {}})).hosts["h1"]
    result = revert_plan(PLAN, host, ConnectionPool(target.factories()), how)
    return result.ok, result.detail, target


def test_a_revert_that_stays_reverted_after_settling_is_reverted(tmp_path: Path) -> None:
    ok, detail, target = reverting(tmp_path, 0, Convergence(attempts=1, settle_s=0.01))
    assert (ok, detail) == (True, "reverted and checked (attempt 1)")
    assert target.names() == ["fault-off x", "fault-check x", "fault-check x"]


def test_a_fault_back_after_settling_is_not_reverted(tmp_path: Path) -> None:
    ok, detail, target = reverting(tmp_path, 1, Convergence(attempts=1, settle_s=0.01))
    assert ok is False
    assert detail.startswith(
        "the fault was back 0.01s after its revert: it was still landing (1 attempt in "
    )
    assert "x" in target.faults_on


def test_a_fault_back_after_settling_is_reverted_again_within_the_deadline(
    tmp_path: Path,
) -> None:
    how = Convergence(attempts=1, deadline_s=30.0, settle_s=0.01)
    ok, detail, target = reverting(tmp_path, 1, how)
    assert (ok, detail) == (True, "reverted and checked (attempt 2)")
    assert target.names().count("fault-off x") == 2 and "x" not in target.faults_on


def test_without_settle_time_the_revert_is_checked_once(tmp_path: Path) -> None:
    ok, detail, target = reverting(tmp_path, 1, Convergence(attempts=1, settle_s=0.0))
    assert (ok, detail) == (True, "reverted and checked (attempt 1)")
    assert target.names() == ["fault-off x", "fault-check x"]
