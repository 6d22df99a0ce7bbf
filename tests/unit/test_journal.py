"""The run journal: durable, hash-chained, secret-free; verify_chain finds what was changed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from runner.journal import GENESIS, Journal, line_hash, read_events, verify_chain
from runner.secrets import MASK, SecretMask


def write_journal(path: Path, events: int, mask: SecretMask | None = None) -> list[bytes]:
    journal = Journal(path, mask or SecretMask())
    try:
        for n in range(events):
            journal.record("step_done", n=n, host="gw1")
    finally:
        journal.close()
    return path.read_bytes().splitlines()


def seal(entry: dict[str, object]) -> bytes:
    """A journal line as Journal writes it: the JSON body, then its own hash."""
    body = json.dumps(entry, separators=(",", ":")).encode()
    return body[:-1] + b',"hash":"' + line_hash(body).encode() + b'"}'


def sealed_body(line: bytes) -> bytes:
    """The line without its trailing `hash` field."""
    return line[: line.rindex(b',"hash":')] + b"}"


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.jsonl"


def test_each_event_is_one_json_line_chained_to_the_line_before(journal_path: Path) -> None:
    lines = write_journal(journal_path, 3)
    entries = [json.loads(line) for line in lines]
    assert [e["seq"] for e in entries] == [0, 1, 2]
    assert entries[0]["prev"] == GENESIS
    assert entries[1]["prev"] == entries[0]["hash"]
    assert entries[2]["prev"] == entries[1]["hash"]
    # A line's own hash covers everything written before its `hash` field.
    assert all(
        line_hash(sealed_body(line)) == e["hash"] for line, e in zip(lines, entries, strict=True)
    )
    assert all(e["event"] == "step_done" and e["host"] == "gw1" for e in entries)
    assert entries[0]["time"].endswith("Z")


def test_record_returns_the_event_as_written(journal_path: Path) -> None:
    journal = Journal(journal_path, SecretMask())
    written = journal.record("run_started", drill="smoke")
    journal.close()
    assert json.loads(journal_path.read_bytes()) == written


def test_the_journal_is_readable_by_its_owner_only(journal_path: Path) -> None:
    write_journal(journal_path, 1)
    assert stat.S_IMODE(journal_path.stat().st_mode) == 0o600


def test_values_that_are_not_json_are_written_as_text(journal_path: Path) -> None:
    journal = Journal(journal_path, SecretMask())
    journal.record("x", where=journal_path)
    journal.close()
    assert json.loads(journal_path.read_bytes())["where"] == str(journal_path)


def test_secrets_never_reach_the_file(journal_path: Path) -> None:
    mask = SecretMask(["hunter2"])
    journal = Journal(journal_path, mask)
    returned = journal.record(
        "step_done", cmd="login -p hunter2", argv=["-p", "hunter2"], env={"hunter2": "x hunter2"}
    )
    journal.close()
    text = journal_path.read_text(encoding="utf-8")
    assert "hunter2" not in text
    entry = json.loads(text)
    assert entry["cmd"] == f"login -p {MASK}"
    assert entry["argv"] == ["-p", MASK]
    assert entry["env"] == {MASK: f"x {MASK}"}
    assert returned["cmd"] == entry["cmd"]


def test_a_secret_registered_mid_run_is_masked_from_then_on(journal_path: Path) -> None:
    mask = SecretMask()
    journal = Journal(journal_path, mask)
    journal.record("a", out="token abc123")
    mask.add("abc123")
    journal.record("b", out="token abc123")
    journal.close()
    outs = [e["out"] for e in read_events(journal_path)]
    assert outs == ["token abc123", f"token {MASK}"]


# --- verify_chain ---------------------------------------------------------------------


def test_an_intact_journal_verifies(journal_path: Path) -> None:
    write_journal(journal_path, 4)
    check = verify_chain(journal_path)
    assert check.ok
    assert check.events == 4
    assert check.problem == ""


def test_a_modified_line_is_reported_at_that_line(journal_path: Path) -> None:
    lines = write_journal(journal_path, 4)
    lines[1] = lines[1].replace(b'"n":1', b'"n":9')
    rewrite(journal_path, lines)
    check = verify_chain(journal_path)
    assert not check.ok
    # Each line carries its own hash, so the changed line itself is named.
    assert check.line == 2
    assert check.problem == "line changed after it was written (hash mismatch)"


def test_a_modified_prev_field_is_reported_at_its_own_line(journal_path: Path) -> None:
    lines = write_journal(journal_path, 3)
    entry = json.loads(lines[1])
    entry["prev"] = "f" * 64
    lines[1] = json.dumps(entry, separators=(",", ":")).encode()
    rewrite(journal_path, lines)
    check = verify_chain(journal_path)
    assert (check.ok, check.line, check.events) == (False, 2, 1)


def test_a_modified_last_line_is_detected(journal_path: Path) -> None:
    lines = write_journal(journal_path, 3)
    lines[2] = lines[2].replace(b'"n":2', b'"n":9')
    rewrite(journal_path, lines)
    assert not verify_chain(journal_path).ok


def test_a_deleted_line_is_reported_where_the_gap_is(journal_path: Path) -> None:
    lines = write_journal(journal_path, 4)
    del lines[1]
    rewrite(journal_path, lines)
    check = verify_chain(journal_path)
    assert (check.ok, check.line, check.events) == (False, 2, 1)
    assert "hash chain broken" in check.problem


def test_a_deleted_first_line_is_reported_at_line_1(journal_path: Path) -> None:
    lines = write_journal(journal_path, 3)
    rewrite(journal_path, lines[1:])
    check = verify_chain(journal_path)
    assert (check.ok, check.line, check.events) == (False, 1, 0)


def test_swapped_lines_are_detected(journal_path: Path) -> None:
    lines = write_journal(journal_path, 3)
    lines[0], lines[1] = lines[1], lines[0]
    rewrite(journal_path, lines)
    check = verify_chain(journal_path)
    assert (check.ok, check.line) == (False, 1)


def test_a_sequence_gap_with_a_valid_hash_is_reported(journal_path: Path) -> None:
    first = seal({"seq": 0, "event": "a", "prev": GENESIS})
    second = seal({"seq": 2, "event": "b", "prev": json.loads(first)["hash"]})
    rewrite(journal_path, [first, second])
    check = verify_chain(journal_path)
    assert (check.ok, check.line, check.problem) == (False, 2, "sequence gap: expected seq 1")


def test_a_torn_last_line_is_reported_as_truncated(journal_path: Path) -> None:
    write_journal(journal_path, 3)
    data = journal_path.read_bytes()
    journal_path.write_bytes(data[:-25])  # the runner died in the middle of the third write
    check = verify_chain(journal_path)
    assert not check.ok
    assert (check.line, check.events) == (3, 2)
    assert check.problem == "truncated last line (the runner died mid-write)"


def test_garbage_in_the_middle_is_not_called_truncation(journal_path: Path) -> None:
    lines = write_journal(journal_path, 3)
    lines[1] = b"not json"
    rewrite(journal_path, lines)
    check = verify_chain(journal_path)
    assert (check.ok, check.line, check.problem) == (False, 2, "line is not JSON")


def test_an_empty_journal_does_not_verify(journal_path: Path) -> None:
    journal_path.write_bytes(b"")
    check = verify_chain(journal_path)
    assert (check.ok, check.events, check.line, check.problem) == (False, 0, 1, "journal is empty")


def test_read_events_skips_a_torn_final_line(journal_path: Path) -> None:
    write_journal(journal_path, 3)
    journal_path.write_bytes(journal_path.read_bytes()[:-25])
    assert [e["n"] for e in read_events(journal_path)] == [0, 1]
