"""A run's record is never closed on a journal that cannot be read: the next run must stop
and ask for the targets to be checked by hand, not start as if nothing were left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine.last_run import (
    UnrecoveredFaults,
    check_unrecovered,
    read_last_run,
    record_end,
    record_start,
)
from runner.engine.lock import lock_location


def test_a_record_whose_journal_is_gone_stays_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(tmp_path / "locks"))
    inv = tmp_path / "inv.yml"
    inv.write_text("all: {}\n")
    where = lock_location(str(inv))
    where.directory.mkdir()
    gone = tmp_path / "gone"
    record_start(where, str(gone), "run-1", "alice")
    record_end(where, str(gone))
    last = read_last_run(where.last_run)
    assert last is not None and last.closed is False
    with pytest.raises(UnrecoveredFaults, match="is gone: check its targets by hand"):
        check_unrecovered(where)
