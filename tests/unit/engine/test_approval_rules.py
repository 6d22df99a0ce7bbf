"""How many approvals a manual decision needs, which name an approval takes, and which pid
counts as a live runner: rules a mutation run found no unit test pinning down.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runner.engine import monitor
from runner.engine.monitor import APPROVALS_DIR, approvals_needed, approve, read_approvals
from runner.journal import JOURNAL_NAME, Journal
from runner.journal_events import Event
from runner.secrets import SecretMask


def run_dir(tmp_path: Path, *approvers: object) -> Path:
    """A run directory whose journal asked for a decision once per `approvers` value."""
    out = tmp_path / "run"
    out.mkdir()
    journal = Journal(out / JOURNAL_NAME, SecretMask())
    journal.record(Event.RUN_STARTED, run_id="r", pid=os.getpid())
    for value in approvers:
        journal.record(Event.DECISION_REQUESTED, approvers=value)
    journal.close()
    return out


def test_a_decision_that_does_not_say_needs_one_approval(tmp_path: Path) -> None:
    assert approvals_needed(run_dir(tmp_path)) == 1


@pytest.mark.parametrize(("value", "needed"), [(2, 2), (1, 1), (0, 1), (-3, 1), ("2", 1)])
def test_a_decision_needs_the_approvals_it_names_and_never_none(
    tmp_path: Path, value: object, needed: int
) -> None:
    # 0 approvals would let a rollback decision pass unseen: it counts as 1.
    assert approvals_needed(run_dir(tmp_path, value)) == needed


def test_the_latest_decision_request_counts(tmp_path: Path) -> None:
    assert approvals_needed(run_dir(tmp_path, 3, 2)) == 2


def test_an_approval_takes_the_next_free_number_after_a_gap(tmp_path: Path) -> None:
    out = run_dir(tmp_path, 2)
    folder = out / APPROVALS_DIR
    folder.mkdir()
    # One approval so far, filed as 001 (000 was never taken): the count says 1, taken.
    (folder / "001.json").write_text(json.dumps({"operator": "alice", "at": "t"}))
    path = approve(out, "bob")
    assert path.name == "002.json"
    assert json.loads(path.read_text())["operator"] == "bob"
    assert "at" in json.loads(path.read_text())
    assert sorted(a.by for a in read_approvals(out)) == ["alice", "bob"]
    assert sorted(p.name for p in folder.iterdir()) == ["001.json", "002.json"]


def test_only_a_positive_integer_pid_can_be_a_live_runner() -> None:
    assert monitor._process_alive(os.getpid()) is True
    assert monitor._process_alive(1) is True  # pid 1 exists on every system
    assert monitor._process_alive(0) is False  # os.kill(0, …) would mean our process group
    assert monitor._process_alive(-1) is False  # … and -1 every process
    assert monitor._process_alive(str(os.getpid())) is False
    assert monitor._process_alive(None) is False


def test_a_process_owned_by_someone_else_is_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "kill", refused)
    assert monitor._process_alive(4242) is True
