"""Group commit: a durable event returns only after an fsync covers it; the rest are batched."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from runner.journal import Journal, verify_chain
from runner.journal_events import DURABLE_EVENTS, Event
from runner.secrets import SecretMask

HOUR = 3600.0  # a flush interval no test lives through: only durable events and close() sync

REAL_FSYNC = os.fsync


class DiskLog:
    """Stands in for os.fsync: notes, in order, each sync and how many lines it covered."""

    def __init__(self, path: Path, fail: bool = False) -> None:
        self.path = path
        self.fail = fail
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def note(self, what: str, lines: int = 0) -> None:
        with self._lock:
            self.calls.append((what, lines))

    def fsync(self, fd: int) -> None:
        # os.fsync is patched for the whole process: a journal another test left open may
        # still sync from its flusher thread. Only this test's journal is noted.
        mine = self.path.exists() and os.path.samestat(os.fstat(fd), os.stat(self.path))
        if not mine:
            return REAL_FSYNC(fd)
        if self.fail:
            raise OSError(5, "Input/output error")
        self.note("fsync", self.path.read_bytes().count(b"\n"))

    def syncs(self) -> list[int]:
        return [lines for what, lines in self.calls if what == "fsync"]


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DiskLog:
    log = DiskLog(tmp_path / "journal.jsonl")
    monkeypatch.setattr(os, "fsync", log.fsync)
    return log


def test_a_durable_event_returns_only_after_an_fsync_covering_its_line(disk: DiskLog) -> None:
    journal = Journal(disk.path, SecretMask(), flush_interval_s=HOUR)
    for n in range(3):
        journal.record(Event.STEP_STARTED, index=n)
    disk.note("step_started returned")
    journal.record(Event.FAULT_INTENT, fault_id="f1")
    disk.note("fault_intent returned")
    try:
        # The three ordinary lines waited for no disk; the intent's fsync covered all four.
        assert disk.calls == [
            ("step_started returned", 0),
            ("fsync", 4),
            ("fault_intent returned", 0),
        ]
    finally:
        journal.close()


@pytest.mark.parametrize("kind", sorted(DURABLE_EVENTS))
def test_every_durable_kind_is_synced_before_record_returns(disk: DiskLog, kind: str) -> None:
    journal = Journal(disk.path, SecretMask(), flush_interval_s=HOUR)
    journal.record(Event.HOST_RESULT, host="a")
    journal.record(kind)
    try:
        assert disk.syncs() == [2]
    finally:
        journal.close()


def test_the_write_ahead_events_are_durable() -> None:
    must = {"fault_intent", "run_finished", "interrupted", "recover_started", "recover_finished"}
    assert must <= DURABLE_EVENTS
    assert "host_result" not in DURABLE_EVENTS  # the per-step events are what is batched


def test_ordinary_events_reach_the_file_at_once_and_the_disk_at_close(disk: DiskLog) -> None:
    journal = Journal(disk.path, SecretMask(), flush_interval_s=HOUR)
    for n in range(5):
        journal.record(Event.HOST_RESULT, index=n)
        # Another process (a kill, `drillctl halt`) reads every line recorded so far.
        assert disk.path.read_bytes().count(b"\n") == n + 1
    assert disk.syncs() == []
    journal.close()
    assert disk.syncs() == [5]
    assert verify_chain(disk.path).events == 5


def test_the_flusher_syncs_ordinary_events_within_its_interval(disk: DiskLog) -> None:
    journal = Journal(disk.path, SecretMask(), flush_interval_s=0.02)
    try:
        journal.record(Event.HOST_RESULT, index=0)
        deadline = time.monotonic() + 5
        while not disk.syncs() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert disk.syncs() == [1]
    finally:
        journal.close()
    assert disk.syncs() == [1], "close() synced again with nothing new"


def test_concurrent_writers_keep_the_chain_and_share_fsyncs(disk: DiskLog) -> None:
    journal = Journal(disk.path, SecretMask(), flush_interval_s=HOUR)
    returned: list[tuple[int, int]] = []  # (seq of the intent, lines synced when it returned)
    lock = threading.Lock()

    def worker(w: int) -> None:
        for n in range(50):
            journal.record(Event.HOST_RESULT, host=f"h{w}", index=n)
            if n % 10 == 9:
                entry = journal.record(Event.FAULT_INTENT, fault_id=f"f{w}-{n}")
                with lock:
                    returned.append((int(entry["seq"]), max(disk.syncs())))

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    check = verify_chain(disk.path)
    assert check.ok and check.events == 8 * 55
    assert len(returned) == 8 * 5
    # Each intent returned once a sync had covered its own line (seq is 0-based).
    assert all(synced >= seq + 1 for seq, synced in returned)
    # 40 durable events, never more fsyncs than that (close() may add one).
    assert len(disk.syncs()) <= 41


def test_a_failed_fsync_fails_the_durable_event_and_every_later_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = DiskLog(tmp_path / "journal.jsonl", fail=True)
    monkeypatch.setattr(os, "fsync", disk.fsync)
    journal = Journal(disk.path, SecretMask(), flush_interval_s=HOUR)
    with pytest.raises(OSError, match="Input/output error"):
        journal.record(Event.FAULT_INTENT, fault_id="f1")
    disk.fail = False  # the kernel may report the next fsync fine after losing pages
    with pytest.raises(OSError, match=r"syncing the journal .* failed"):
        journal.record(Event.FAULT_INTENT, fault_id="f2")
    with pytest.raises(OSError, match=r"syncing the journal .* failed"):
        journal.close()
    assert disk.syncs() == []


def test_recording_after_close_raises(disk: DiskLog) -> None:
    journal = Journal(disk.path, SecretMask())
    journal.record(Event.RUN_STARTED, drill="x")
    journal.close()
    journal.close()  # twice is harmless
    for kind in (Event.HOST_RESULT, Event.FAULT_INTENT):
        with pytest.raises(OSError, match="closed"):
            journal.record(kind)
    assert [json.loads(line)["event"] for line in disk.path.read_bytes().splitlines()] == [
        "run_started"
    ]


def test_close_leaves_no_flusher_thread(disk: DiskLog) -> None:
    journal = Journal(disk.path, SecretMask(), flush_interval_s=0.01)
    journal.record(Event.HOST_RESULT)
    flusher = journal._flusher
    assert flusher is not None and flusher.is_alive() and flusher.name == "journal-flusher"
    journal.close()
    assert not flusher.is_alive()


def test_a_run_syncs_the_intent_before_the_fault_and_the_end_before_result_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.cli import main

    run_dir = tmp_path / "run"
    marker = tmp_path / "fault-in-effect"
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: write-ahead\nrollback_type: 2\n"
        "prepare:\n  - command: 'true'\n"
        f"inject:\n  - fault: {{kind: custom, name: m, inject: 'touch {marker}', "
        f"revert: 'rm -f {marker}', check: 'test -f {marker}'}}\n"
        "  - command: 'true'\n"
        "rollback:\n  - command: 'true'\n"
        f"verify:\n  - command: 'test ! -e {marker}'\n"
    )
    # What was on disk at each fsync: the journal's events, the fault, result.json.
    synced: list[tuple[list[str], bool, bool]] = []

    def fsync(fd: int) -> None:
        journal = run_dir / "journal.jsonl"
        if os.readlink(f"/proc/self/fd/{fd}") == str(journal):
            kinds = [json.loads(line)["event"] for line in journal.read_bytes().splitlines()]
            synced.append((kinds, marker.exists(), (run_dir / "result.json").exists()))

    monkeypatch.setattr(os, "fsync", fsync)
    assert main(["run", str(playbook), "--out", str(run_dir)]) == 0
    assert not marker.exists()
    first_with_intent = next(s for s in synced if "fault_intent" in s[0])
    assert first_with_intent[1] is False, "the fault was injected before its intent was synced"
    first_with_end = next(s for s in synced if "run_finished" in s[0])
    assert first_with_end[2] is False, "result.json was written before the final event was synced"
    assert first_with_end[0][-1] == "run_finished"
