"""The inventory lock's identity, the last-run record, production names, in-flight faults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.engine.last_run import UnrecoveredFaults, check_unrecovered, record_end, record_start
from runner.engine.lock import InventoryLock, is_held, lock_location
from runner.engine.safety import production_marks, production_names
from runner.errors import TargetEnvironmentError
from runner.faults.base import SHELL, FaultOp, FaultPlan
from runner.faults.outstanding import in_flight, pending_faults
from runner.inventory import load_inventory
from runner.journal import JOURNAL_NAME, Journal
from runner.secrets import SecretMask


def test_every_path_to_one_file_meets_one_lock_and_a_copy_does_not(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text("all: {}\n")
    (tmp_path / "link.yml").symlink_to(inv)
    os.link(inv, tmp_path / "hard.yml")
    (tmp_path / "copy.yml").write_text("all: {}\n")
    locks = {name: lock_location(str(tmp_path / name)).lock for name in os.listdir(tmp_path)}
    assert locks["inv.yml"] == locks["link.yml"] == locks["hard.yml"] != locks["copy.yml"]
    assert lock_location("").lock.name == "localhost.lock"


def test_a_held_lock_refuses_a_second_holder_and_is_free_once_released(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text("all: {}\n")
    first = InventoryLock(str(inv), "run-1", "alice")
    first.acquire("/runs/1")
    assert is_held(first.path)
    with pytest.raises(TargetEnvironmentError, match=r"alice \(pid \d+, run run-1\)"):
        InventoryLock(str(tmp_path / "inv.yml"), "run-2", "bob").acquire()
    first.release()
    assert not is_held(first.path) and first.path.read_text() == ""
    second = InventoryLock(str(inv), "run-2", "bob")
    second.acquire()
    second.release()


def _journal_with_fault(run_dir: Path, *, reverted: bool) -> None:
    run_dir.mkdir()
    journal = Journal(run_dir / JOURNAL_NAME, SecretMask())
    journal.record("run_started", pid=0)
    plan = FaultPlan("custom", "h1", "marker", (FaultOp(SHELL, "true"),), (FaultOp(SHELL, "true"),))
    journal.record("fault_intent", fault_id="f1", plan=plan.to_json())
    journal.record("fault_injected", fault_id="f1")
    if reverted:
        journal.record("fault_reverted", fault_id="f1")
    journal.close()


def test_the_next_run_is_refused_while_the_last_run_has_faults_left(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text("all: {}\n")
    where = lock_location(str(inv))
    where.directory.mkdir(parents=True, exist_ok=True)
    check_unrecovered(where)  # no run yet
    dead = tmp_path / "dead"
    _journal_with_fault(dead, reverted=False)
    record_start(where, str(dead), "dead-run", "alice")
    record_end(where, str(dead))  # its journal still holds the fault: stays open
    with pytest.raises(UnrecoveredFaults, match=f"drillctl recover {dead}"):
        check_unrecovered(where)
    clean = tmp_path / "clean"
    _journal_with_fault(clean, reverted=True)
    record_start(where, str(clean), "clean-run", "bob")
    check_unrecovered(where)  # not closed, but its journal (the truth) has nothing left
    record_start(where, str(tmp_path / "gone"), "gone-run", "carol")
    with pytest.raises(UnrecoveredFaults, match=r"journal .* is gone"):
        check_unrecovered(where)


def test_production_is_any_spelling_of_a_production_name_on_a_targeted_host_or_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n  vars: {production_names: [Live]}\n  hosts:\n    a: {environment: ' Prod '}\n"
        "    b: {environment: staging}\n    c: {environment: '  LIVE'}\n"
        "    d: {environment: production-like}\n    e: {environment: dr}\n"
    )
    loaded = load_inventory(str(inv))
    assert {"production", "prod", "live"} <= production_names(loaded)
    marked = {m.host for m in production_marks(loaded, loaded.hosts.values())}
    assert marked == {"a", "c"}
    monkeypatch.setenv("DRILLCTL_PRODUCTION_NAMES", "DR, ")
    marked = {m.host for m in production_marks(loaded, loaded.hosts.values())}
    assert marked == {"a", "c", "e"}
    assert not production_marks(loaded, [loaded.hosts["b"], loaded.hosts["d"]])


def test_faults_in_flight_are_those_cut_between_an_operation_and_its_end() -> None:
    plan = FaultPlan("custom", "h1", "x", (), ()).to_json()
    events = [
        {"event": "fault_intent", "fault_id": "a", "plan": plan},
        {"event": "fault_injected", "fault_id": "a"},
        {"event": "fault_intent", "fault_id": "b", "plan": plan},
        {"event": "fault_intent", "fault_id": "c", "plan": plan},
        {"event": "fault_inject_failed", "fault_id": "c"},
        {"event": "fault_revert_started", "fault_id": "c"},
    ]
    assert in_flight(events) == ["b", "c"]
    assert list(pending_faults(events)) == ["a", "b", "c"]
    events += [{"event": "fault_reverted", "fault_id": "c"}]
    assert in_flight(events) == ["b"] and list(pending_faults(events)) == ["a", "b"]
