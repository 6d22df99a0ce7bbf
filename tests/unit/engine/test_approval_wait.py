"""Waiting for a manual rollback decision: which terminal answers approve, that distinct
approvers are counted and the wait ends as soon as enough are in, what `drillctl approve`
files count, and why a run cannot be approved now.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from runner.engine import monitor
from runner.engine.interrupts import Interrupts
from runner.engine.monitor import APPROVALS_DIR, read_approvals, waiting_for_decision
from runner.journal import JOURNAL_NAME, Journal
from runner.journal_events import Event
from runner.provenance import Approval
from runner.secrets import SecretMask


class FakeTerminal:
    """Standard input: its lines, then (if `hold`) a read that blocks until released."""

    def __init__(self, lines: list[str], tty: bool = True, hold: bool = False) -> None:
        self.lines, self.tty, self.hold = lines, tty, hold
        self.release = threading.Event()

    def isatty(self) -> bool:
        return self.tty

    def __iter__(self) -> Iterator[str]:
        yield from self.lines
        if self.hold:
            self.release.wait(10)


def wait(tmp_path: Path, timeout: float, needed: int = 1) -> tuple[Approval, ...]:
    return monitor._wait_for_approvals(tmp_path, timeout, Interrupts(lambda _: None), needed)


def is_timestamp(text: str) -> bool:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None


@pytest.mark.parametrize("answer", ["rollback", "  YES \n", "y"])
def test_a_terminal_answer_approves_as_the_user_at_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setattr(sys, "stdin", FakeTerminal(["maybe\n", answer]))
    [given] = wait(tmp_path, 5.0)
    assert (given.by, given.via) == ("alice (terminal)", "terminal")
    assert is_timestamp(given.at)


def test_other_answers_and_input_that_is_not_a_terminal_approve_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", FakeTerminal(["no\n", "later\n"]))
    assert wait(tmp_path, 0.3) == ()
    monkeypatch.setattr(sys, "stdin", FakeTerminal(["rollback\n"], tty=False))
    assert wait(tmp_path, 0.3) == ()


def test_the_terminal_reader_never_keeps_the_process_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = FakeTerminal([], hold=True)
    monkeypatch.setattr(sys, "stdin", terminal)
    try:
        assert wait(tmp_path, 0.2) == ()
        readers = [t for t in threading.enumerate() if "read_terminal" in t.name]
        assert readers and all(t.daemon for t in readers)
    finally:
        terminal.release.set()


def give(run_dir: Path, name: str, **approval: object) -> None:
    folder = run_dir / APPROVALS_DIR
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps(approval))


def test_the_wait_ends_as_soon_as_enough_distinct_approvers_are_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    give(tmp_path, "000.json", operator="alice", at="2026-12-01T10:00:00Z")
    give(tmp_path, "001.json", operator="alice", at="2026-12-01T10:00:01Z")
    give(tmp_path, "002.json", operator="bob", at="2026-12-01T10:00:02Z")
    started = time.monotonic()
    given = wait(tmp_path, 30.0, needed=2)
    assert time.monotonic() - started < 10.0
    assert given == (
        Approval("alice", "2026-12-01T10:00:00Z", "approve"),
        Approval("bob", "2026-12-01T10:00:02Z", "approve"),
    )


def test_the_wait_polls_for_approvals_every_50ms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        give(tmp_path, "000.json", operator="alice", at="2026-12-01T10:00:00Z")

    monkeypatch.setattr(time, "sleep", sleep)  # the module the wait sleeps with
    assert [a.by for a in wait(tmp_path, 30.0)] == ["alice"]
    assert naps == [0.05]


def test_approval_files_count_once_each_and_keep_their_time(tmp_path: Path) -> None:
    give(tmp_path, "000.json")  # no operator: not an approval
    (tmp_path / APPROVALS_DIR / "001.json").write_text('{"operator": "al')  # being written
    (tmp_path / APPROVALS_DIR / "002.json").write_text("[1, 2]")  # not an object
    give(tmp_path, "003.json", operator="bob", at="2026-12-01T10:00:02Z")
    give(tmp_path, "004.json", operator="carol")  # no time: read now
    bob, carol = read_approvals(tmp_path)
    assert bob == Approval("bob", "2026-12-01T10:00:02Z", "approve")
    assert (carol.by, carol.via) == ("carol", "approve") and is_timestamp(carol.at)


def test_the_approval_request_says_how_many_approvers_it_needs() -> None:
    assert monitor._approvals_text(1) == "approval"
    assert monitor._approvals_text(2) == "2 approvals from distinct operators"


def journal(run_dir: Path, *events: tuple[Event, dict[str, Any]]) -> Path:
    run_dir.mkdir(exist_ok=True)
    writer = Journal(run_dir / JOURNAL_NAME, SecretMask())
    for event, fields in events:
        writer.record(event, **fields)
    writer.close()
    return run_dir


def test_why_a_run_cannot_be_approved_now(tmp_path: Path) -> None:
    assert waiting_for_decision(tmp_path) == (
        "no journal.jsonl here; give the directory of a running drill"
    )
    live = (Event.RUN_STARTED, {"run_id": "r", "pid": os.getpid()})
    asked = (Event.DECISION_REQUESTED, {"approvers": 1})
    decided = journal(tmp_path / "decided", live, asked, (Event.DECISION, {}))
    give(decided, "000.json", operator="alice")
    assert waiting_for_decision(decided) == "the rollback was already decided"
    assert waiting_for_decision(journal(tmp_path / "waiting", live, asked)) == ""
    # A journal whose start is not there names no process: none can be alive.
    headless = journal(tmp_path / "headless", asked)
    assert waiting_for_decision(headless) == (
        "the run's process is gone (it died while waiting); see `drillctl recover`"
    )
