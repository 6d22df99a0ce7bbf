"""The journal's background flusher never keeps a process alive on its own."""

from __future__ import annotations

from pathlib import Path

from runner.journal import Journal
from runner.secrets import SecretMask


def test_the_flusher_is_a_daemon_thread_that_ends_with_the_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl", SecretMask(), flush_interval_s=60.0)
    try:
        journal.record("step_started", step="s")
        flusher = journal._flusher
        assert flusher is not None and flusher.daemon is True
    finally:
        journal.close()  # also on failure: a flusher left running would hold the test up
    assert not flusher.is_alive()
