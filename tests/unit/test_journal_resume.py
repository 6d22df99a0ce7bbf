"""Resuming a journal (`drillctl recover`): the chain goes on from its last intact line."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

import runner.journal
from runner.journal import GENESIS, ChainCheck, Journal, line_hash, read_events, verify_chain
from runner.secrets import SecretMask


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


def test_a_journal_keeps_its_path_and_monotonic_times_to_the_microsecond(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.jsonl"
    clock = types.SimpleNamespace(monotonic=lambda: 12.3456789)
    monkeypatch.setattr(runner.journal, "time", clock)
    journal = Journal(path, SecretMask())
    entry = journal.record("step_done")
    journal.close()
    journal.close()  # closing twice is harmless
    assert journal.path == path
    assert entry["mono"] == 12.345679
    assert json.loads(path.read_bytes())["mono"] == 12.345679


def test_values_with_spaces_keep_a_journal_verifiable(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, SecretMask())
    journal.record("run_finished", reason="rolled back in 2.00s and verified")
    journal.record("step_done", msg="a b\tc")
    journal.close()
    check = verify_chain(path)
    assert (check.ok, check.events, check.problem) == (True, 2, "")
    assert check.head == json.loads(path.read_text().splitlines()[-1])["hash"]


def test_a_broken_link_and_a_sequence_gap_say_which_and_where(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, SecretMask())
    for n in range(3):
        journal.record("step_done", n=n)
    journal.close()
    lines = path.read_bytes().splitlines()
    path.write_bytes(lines[0] + b"\n" + lines[2] + b"\n")
    assert verify_chain(path) == ChainCheck(
        False, 1, "hash chain broken: a line before this one was removed or changed", 2
    )
    first = json.loads(lines[0])
    del first["hash"]
    first["seq"] = 1
    body = json.dumps(first, separators=(",", ":")).encode()
    path.write_bytes(body[:-1] + b',"hash":"' + line_hash(body).encode() + b'"}\n')
    assert verify_chain(path) == ChainCheck(False, 0, "sequence gap: expected seq 0", 1)
