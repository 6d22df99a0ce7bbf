"""The lock probe, the holder's description, the faults in flight and the run's inventory as
recover rebuilds it: the rules a mutation run found no unit test pinning down.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.engine.lock import describe_holder, is_held, read_holder
from runner.engine.recover import _inventory
from runner.faults.base import FaultPlan
from runner.faults.outstanding import in_flight


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """A lock file another open file description holds exclusively, as a running drill."""
    path = tmp_path / "inv.lock"
    path.write_text("")
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    yield path
    os.close(fd)


def test_a_lock_file_nobody_holds_is_not_held(tmp_path: Path) -> None:
    path = tmp_path / "inv.lock"
    path.write_text("")
    assert is_held(path) is False
    assert is_held(tmp_path / "missing.lock") is False


def test_a_lock_file_a_live_holder_holds_is_held(held: Path) -> None:
    assert is_held(held) is True


def test_a_symlink_to_a_held_lock_is_not_followed(held: Path, tmp_path: Path) -> None:
    # Lock files are opened without following links: a link planted in the lock directory
    # says nothing about who holds what.
    link = tmp_path / "other.lock"
    link.symlink_to(held)
    assert is_held(link) is False


def test_a_holder_record_must_be_a_json_object(tmp_path: Path) -> None:
    path = tmp_path / "inv.lock"
    path.write_text('{"operator": "alice", "pid": 7}')
    assert read_holder(path) == {"operator": "alice", "pid": 7}
    path.write_text("[1, 2]")
    assert read_holder(path) is None
    path.write_text("not json")
    assert read_holder(path) is None


def test_the_holder_is_described_by_who_what_and_since() -> None:
    run = {"operator": "alice", "pid": 7, "run_id": "r-1", "since": "2026-12-01T10:00:00Z"}
    assert describe_holder(run) == "alice (pid 7, run r-1) since 2026-12-01T10:00:00Z"
    exec_ = {**run, "command": "exec"}
    assert describe_holder(exec_) == "alice (pid 7, drillctl exec) since 2026-12-01T10:00:00Z"
    assert describe_holder({**run, "command": "run"}) == describe_holder(run)


def test_a_holder_that_has_not_written_its_record_or_wrote_half_is_said_so() -> None:
    assert describe_holder(None) == "a process that has not said who it is yet"
    assert describe_holder({}) == "a process that has not said who it is yet"
    assert describe_holder({"operator": "alice", "pid": 7}) == "an unknown process"


def test_events_without_a_fault_id_do_not_end_the_search_for_faults_in_flight() -> None:
    plan = FaultPlan("custom", "h1", "x", (), ()).to_json()
    events: list[dict[str, Any]] = [
        {"event": "run_started", "pid": 1},
        {"event": "fault_intent", "fault_id": "a", "plan": plan},
        {"event": "step_started", "step": "s"},
        {"event": "fault_intent", "fault_id": "b", "plan": plan},
    ]
    assert in_flight(events) == ["a", "b"]


def test_recover_reaches_the_hosts_through_every_inventory_source_and_the_runs_defaults(
    tmp_path: Path,
) -> None:
    first = tmp_path / "a.yml"
    first.write_text("all:\n  hosts:\n    h1: {ansible_host: 10.0.0.1}\n")
    second = tmp_path / "b.yml"
    second.write_text("all:\n  hosts:\n    h2: {ansible_host: 10.0.0.2}\n")
    started = {
        "inventory_path": str(first),
        "inventory_paths": [str(first), str(second)],
        "connection_defaults": {
            "user": "ops",
            "private_key": "/keys/ops",
            "become": True,
            "become_user": "deploy",
        },
    }
    inventory = _inventory(started)
    assert set(inventory.hosts) >= {"h1", "h2"}
    h2 = inventory.hosts["h2"]
    assert h2.connection == "ssh" and h2.user == "ops"
    assert (h2.vars["ssh_key_file"], h2.vars["become"], h2.vars["become_user"]) == (
        "/keys/ops",
        True,
        "deploy",
    )


def test_recover_of_a_run_with_one_source_and_no_defaults(tmp_path: Path) -> None:
    only = tmp_path / "a.yml"
    only.write_text("all:\n  hosts:\n    h1: {ansible_host: 10.0.0.1}\n")
    inventory = _inventory({"inventory_path": str(only)})
    assert "h1" in inventory.hosts
    h1 = inventory.hosts["h1"]
    assert not {"ssh_key_file", "become", "become_user"} & set(h1.vars)


def test_recover_of_a_run_without_an_inventory_reaches_localhost_only() -> None:
    inventory = _inventory({"inventory_path": ""})
    assert list(inventory.hosts) == ["localhost"]
