"""A journal that is closed refuses every further event, saying so (EBADF), and writes nothing."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from runner.journal import Journal
from runner.secrets import SecretMask


def test_an_event_after_close_is_refused_and_not_written(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, SecretMask())
    journal.record("run_started", pid=1)
    journal.close()
    before = path.read_bytes()
    with pytest.raises(OSError) as caught:
        journal.record("step_started", step="late")
    assert caught.value.errno == errno.EBADF
    assert str(caught.value) == f"[Errno {errno.EBADF}] the journal {path} is closed"
    assert path.read_bytes() == before
