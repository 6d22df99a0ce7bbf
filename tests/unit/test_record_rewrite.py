"""A runner killed while it rewrites the lock's or the last run's record never leaves a file
the next run cannot read: the record is replaced in one write, then cut to size."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

from runner.engine.last_run import LastRun, read_last_run
from runner.engine.lock import open_shared, read_holder, rewrite

OLD = LastRun("/runs/a-much-longer-run-directory-name", "r1", "alice", "t0", "/inv.yml", False)
NEW = LastRun("/runs/b", "r2", "bob", "t1", "/inv.yml", True)


def _record(last: LastRun) -> str:
    return json.dumps(asdict(last))


class Killed(Exception):
    """Stands for SIGKILL between two system calls."""


def _rewrite_killed_before(
    call: str, path: Path, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def die(*_: object) -> None:
        raise Killed(call)

    fd = open_shared(path)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(os, call, die)
            with pytest.raises(Killed):
                rewrite(fd, text)
    finally:
        os.close(fd)


def test_a_rewrite_replaces_a_longer_record_and_a_shorter_one(tmp_path: Path) -> None:
    path = tmp_path / "inv.last.json"
    for last in (OLD, NEW, OLD):
        fd = open_shared(path)
        try:
            rewrite(fd, _record(last))
        finally:
            os.close(fd)
        assert path.read_text() == _record(last)  # cut to size: no blanks left over
        assert read_last_run(path) == last


def test_killed_before_the_write_the_old_record_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "inv.last.json"
    path.write_text(_record(OLD))
    _rewrite_killed_before("pwrite", path, _record(NEW), monkeypatch)
    assert read_last_run(path) == OLD


def test_killed_after_the_write_the_new_record_reads_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "inv.last.json"
    path.write_text(_record(OLD))
    _rewrite_killed_before("ftruncate", path, _record(NEW), monkeypatch)
    assert path.stat().st_size == len(_record(OLD))  # not cut yet: blanks follow the record
    assert read_last_run(path) == NEW


def test_a_released_lock_killed_before_its_cut_names_no_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "inv.lock"
    path.write_text('{"operator": "alice", "pid": 1, "run_id": "r1", "since": "t0"}')
    assert read_holder(path) is not None
    _rewrite_killed_before("ftruncate", path, "", monkeypatch)
    assert path.read_text().strip() == ""
    assert read_holder(path) is None  # blanks are no holder, as an empty file is none
