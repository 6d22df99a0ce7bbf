"""`drillctl halt --all` starts from the locks live processes hold: which ones are listed."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.engine.lock import held_locks


@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "locks"
    directory.mkdir()
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(directory))
    fds: list[int] = []

    def hold(name: str, record: str) -> None:
        path = directory / name
        path.write_text(record)
        fd = os.open(path, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fds.append(fd)

    hold("b.lock", '{"operator": "bob", "pid": 2}')
    hold("a.lock", "")  # held, record not written yet
    hold("c.last.json", "{}")  # not a lock file
    (directory / "d.lock").write_text('{"operator": "dave", "pid": 4}')  # nobody holds it
    yield directory
    for fd in fds:
        os.close(fd)


def test_held_locks_are_the_held_lock_files_in_name_order_with_their_records(
    locks: Path,
) -> None:
    assert list(held_locks()) == [
        (locks / "a.lock", None),
        (locks / "b.lock", {"operator": "bob", "pid": 2}),
    ]


def test_no_lock_directory_means_no_held_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(tmp_path / "missing"))
    assert list(held_locks()) == []
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(tmp_path / "file"))
    assert list(held_locks()) == []
