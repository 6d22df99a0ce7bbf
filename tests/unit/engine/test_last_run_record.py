"""The last-run record beside an inventory's lock: what a run writes, when it is closed, and
the refusals (exit 3) of the next run while a dead run's faults may still be in effect.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.engine import last_run as last_run_mod
from runner.engine.last_run import (
    LastRun,
    UnrecoveredFaults,
    check_unrecovered,
    read_last_run,
    record_end,
    record_start,
)
from runner.engine.lock import LockLocation, lock_location
from runner.errors import TargetEnvironmentError
from runner.faults.base import SHELL, FaultOp, FaultPlan
from runner.journal import JOURNAL_NAME, Journal
from runner.secrets import SecretMask

NOW = "2026-12-01T10:00:00.000Z"


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LockLocation:
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setattr(last_run_mod, "utc_now", lambda: NOW)
    inv = tmp_path / "inv.yml"
    inv.write_text("all: {}\n")
    location = lock_location(str(inv))
    location.directory.mkdir()
    return location


def dead_run(tmp_path: Path, name: str, *faults: tuple[str, str, bool]) -> Path:
    """A run directory whose journal holds `faults` (id, host, reverted)."""
    run_dir = tmp_path / name
    run_dir.mkdir()
    journal = Journal(run_dir / JOURNAL_NAME, SecretMask())
    journal.record("run_started", pid=0)
    for fault_id, host, reverted in faults:
        plan = FaultPlan("custom", host, f"marker {fault_id}", (), (FaultOp(SHELL, "true"),))
        journal.record("fault_intent", fault_id=fault_id, plan=plan.to_json())
        if reverted:
            journal.record("fault_reverted", fault_id=fault_id)
    journal.close()
    return run_dir


def refusal(where: LockLocation) -> str:
    with pytest.raises(UnrecoveredFaults) as caught:
        check_unrecovered(where)
    assert isinstance(caught.value, TargetEnvironmentError)
    return str(caught.value)


def test_a_run_records_itself_not_closed(where: LockLocation) -> None:
    record_start(where, "/runs/1", "run-1", "alice")
    assert json.loads(where.last_run.read_text(encoding="utf-8")) == {
        "run_dir": "/runs/1",
        "run_id": "run-1",
        "operator": "alice",
        "started": NOW,
        "inventory": where.inventory,
        "closed": False,
    }
    assert read_last_run(where.last_run) == LastRun(
        "/runs/1", "run-1", "alice", NOW, where.inventory, False
    )


def test_a_record_is_closed_only_by_its_own_run_with_nothing_left(
    where: LockLocation, tmp_path: Path
) -> None:
    clean = dead_run(tmp_path, "clean", ("f1", "h1", True))
    left = dead_run(tmp_path, "left", ("f1", "h1", False))
    record_start(where, str(left), "run-1", "alice")
    record_end(where, str(clean))  # another run's end: not this record's
    assert read_last_run(where.last_run).closed is False  # type: ignore[union-attr]
    record_end(where, str(left))  # its journal still holds a fault
    assert read_last_run(where.last_run).closed is False  # type: ignore[union-attr]
    record_start(where, str(clean), "run-2", "bob")
    record_end(where, str(clean))
    closed = read_last_run(where.last_run)
    assert closed == LastRun(str(clean), "run-2", "bob", NOW, where.inventory, True)
    before = where.last_run.read_text()
    record_end(where, str(clean))  # closed already: left as it is
    assert where.last_run.read_text() == before


def test_no_record_means_nothing_to_close(where: LockLocation) -> None:
    record_end(where, "/runs/1")
    assert not where.last_run.exists()


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"run_dir": "/r", "run_id": "1", "operator": "a", "started": "t", "inventory": "i"}',
    ],
)
def test_a_record_that_cannot_be_read_is_none(where: LockLocation, text: str) -> None:
    where.last_run.write_text(text)
    assert read_last_run(where.last_run) is None


def test_only_true_closes_a_record(where: LockLocation) -> None:
    fields = {"run_dir": "/r", "run_id": 1, "operator": "a", "started": "t", "inventory": "i"}
    for closed, expected in ((True, True), ("true", False), (1, False), (None, False)):
        where.last_run.write_text(json.dumps({**fields, "closed": closed}))
        assert read_last_run(where.last_run) == LastRun("/r", "1", "a", "t", "i", expected)


def test_the_next_run_is_refused_naming_the_faults_left_and_the_command(
    where: LockLocation, tmp_path: Path
) -> None:
    dead = dead_run(tmp_path, "dead", ("f1", "h1", False), ("f2", "h2", True), ("f3", "h3", False))
    record_start(where, str(dead), "run-1", "alice")
    assert refusal(where) == (
        f"the last drill on {where.inventory} (run run-1 by alice, since {NOW}) died with 2 "
        f"fault(s) not reverted (marker f1 on h1, marker f3 on h3); run `drillctl recover "
        f"{dead}` first (or --ignore-unrecovered to run anyway)"
    )


def test_a_dead_run_whose_journal_is_gone_is_refused_for_hands(
    where: LockLocation, tmp_path: Path
) -> None:
    record_start(where, str(tmp_path / "gone"), "run-1", "alice")
    assert refusal(where) == (
        f"the last drill on {where.inventory} (run run-1 by alice, since {NOW}) did not finish "
        f"and its journal {tmp_path / 'gone' / JOURNAL_NAME} is gone: check its targets by "
        "hand, then run with --ignore-unrecovered"
    )


def test_an_unreadable_record_is_refused(where: LockLocation) -> None:
    where.last_run.write_text("{")
    assert refusal(where) == (
        f"the record of the last run on {where.inventory} ({where.last_run}) cannot be read; "
        "make sure no fault of that run is left, then run with --ignore-unrecovered"
    )


def test_a_closed_or_clean_record_lets_the_next_run_start(
    where: LockLocation, tmp_path: Path
) -> None:
    check_unrecovered(where)  # no record at all
    clean = dead_run(tmp_path, "clean", ("f1", "h1", True))
    record_start(where, str(clean), "run-1", "alice")
    check_unrecovered(where)  # not closed, but nothing is left in its journal
    record_end(where, str(clean))
    (clean / JOURNAL_NAME).unlink()
    check_unrecovered(where)  # closed: its journal is not even read


def test_a_record_left_under_a_replaced_inventory_file_still_counts(
    where: LockLocation, tmp_path: Path
) -> None:
    # An editor replaced the inventory file (a new inode): the old record has another name.
    dead = dead_run(tmp_path, "dead", ("f1", "h1", False))
    old = where.directory / "inventory-1-2.last.json"
    record_start(
        LockLocation(where.directory, where.directory / "x.lock", old, where.inventory),
        str(dead),
        "run-0",
        "zoe",
    )
    assert "(run run-0 by zoe," in refusal(where)
    # A record of another inventory, or a closed one, does not stop this one.
    other = dead_run(tmp_path, "other", ("f1", "h1", False))
    old.write_text(
        json.dumps(
            {
                "run_dir": str(other),
                "run_id": "run-9",
                "operator": "yan",
                "started": NOW,
                "inventory": "/elsewhere/inv.yml",
                "closed": False,
            }
        )
    )
    check_unrecovered(where)
    closed = json.loads(old.read_text()) | {"inventory": where.inventory, "closed": True}
    old.write_text(json.dumps(closed))
    check_unrecovered(where)
    (where.directory / "broken.last.json").write_text("{")  # not known to be this inventory's
    check_unrecovered(where)


def test_an_open_record_under_an_old_name_counts_after_a_closed_one(
    where: LockLocation, tmp_path: Path
) -> None:
    clean = dead_run(tmp_path, "clean", ("f1", "h1", True))
    record_start(where, str(clean), "run-2", "bob")
    record_end(where, str(clean))  # this file's record: closed
    dead = dead_run(tmp_path, "dead", ("f1", "h1", False))
    old = where.directory / "zz-old.last.json"  # listed after this inventory's own record
    record_start(
        LockLocation(where.directory, where.directory / "zz-old.lock", old, where.inventory),
        str(dead),
        "run-0",
        "zoe",
    )
    assert "(run run-0 by zoe," in refusal(where)
