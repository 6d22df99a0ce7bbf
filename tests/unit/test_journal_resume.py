"""Resuming a journal (`drillctl recover`): the chain goes on from its last intact line."""

from __future__ import annotations

import json
from pathlib import Path

from runner.journal import GENESIS, Journal, read_events, verify_chain
from runner.playbook.secrets import SecretMask


def written(path: Path, events: int) -> bytes:
    journal = Journal(path, SecretMask())
    for n in range(events):
        journal.record("step_done", n=n)
    journal.close()
    return path.read_bytes()


def test_a_resumed_journal_continues_the_sequence_and_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    before = written(path, 3)
    last = json.loads(before.splitlines()[-1])
    journal = Journal.resume(path, SecretMask())
    entry = journal.record("recover_started")
    journal.close()
    assert entry["seq"] == 3 and entry["prev"] == last["hash"]
    assert verify_chain(path).ok and verify_chain(path).events == 4
    assert path.read_bytes().startswith(before)


def test_a_torn_last_line_is_cut_before_the_journal_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    intact = written(path, 2)
    path.write_bytes(intact + b'{"seq":2,"event":"step_st')
    journal = Journal.resume(path, SecretMask())
    entry = journal.record("recover_started")
    journal.close()
    assert entry["seq"] == 2
    assert verify_chain(path).ok
    assert [e["event"] for e in read_events(path)] == ["step_done", "step_done", "recover_started"]


def test_resuming_an_empty_journal_starts_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"")
    journal = Journal.resume(path, SecretMask())
    entry = journal.record("recover_started")
    journal.close()
    assert (entry["seq"], entry["prev"]) == (0, GENESIS)
    assert verify_chain(path).ok


def test_a_journal_of_one_torn_line_resumes_empty(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"seq":0,"ev')
    journal = Journal.resume(path, SecretMask())
    entry = journal.record("recover_started")
    journal.close()
    assert (entry["seq"], entry["prev"]) == (0, GENESIS)
    assert verify_chain(path).ok


def test_a_last_line_whose_hash_was_removed_does_not_verify(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, SecretMask())
    journal.record("step_done")
    journal.record("run_finished", status="failed")
    journal.close()
    lines = path.read_bytes().splitlines()
    entry = json.loads(lines[-1])
    del entry["hash"]
    entry["status"] = "passed"  # the edit the missing hash would hide
    lines[-1] = json.dumps(entry, separators=(",", ":")).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    check = verify_chain(path)
    assert (check.ok, check.events, check.line) == (False, 1, 2)
    assert check.problem == "line changed after it was written (hash mismatch)"
