"""The inventory lock's home and life: where the lock directory is, when it is safe, the
lock file of an inventory, the holder's record, the grace for a holder still starting, and
the refusals word for word.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from runner.engine import lock as lock_mod
from runner.engine.lock import (
    InventoryLock,
    LockLocation,
    ensure_lock_dir,
    is_held,
    lock_dir,
    lock_location,
    open_shared,
    read_holder,
)
from runner.errors import TargetEnvironmentError

NOW = "2026-12-01T10:00:00.000Z"


@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "locks"
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(directory))
    monkeypatch.setattr(lock_mod, "utc_now", lambda: NOW)
    return directory


def test_the_lock_directory_is_the_configured_one_else_the_first_whose_parent_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(tmp_path / "mine"))
    assert lock_dir() == tmp_path / "mine"
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", "")
    first, second = tmp_path / "run" / "lock" / "d", tmp_path / "var" / "lock" / "d"
    monkeypatch.setattr(lock_mod, "DEFAULT_LOCK_DIRS", (first, second))
    monkeypatch.setattr(lock_mod, "FALLBACK_LOCK_DIR", tmp_path / "fallback")
    assert lock_dir() == tmp_path / "fallback"
    second.parent.mkdir(parents=True)
    assert lock_dir() == second
    first.parent.mkdir(parents=True)
    assert lock_dir() == first


def test_an_inventory_file_is_locked_by_its_identity_and_localhost_by_name(
    locks: Path, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text("all: {}\n")
    st = os.stat(inv)
    stem = f"inventory-{st.st_dev:x}-{st.st_ino:x}"
    assert lock_location(str(inv)) == LockLocation(
        locks, locks / f"{stem}.lock", locks / f"{stem}.last.json", str(inv.resolve())
    )
    assert lock_location("") == LockLocation(
        locks, locks / "localhost.lock", locks / "localhost.last.json", "localhost"
    )


def test_an_inventory_that_cannot_be_read_is_an_environment_error(
    locks: Path, tmp_path: Path
) -> None:
    with pytest.raises(TargetEnvironmentError) as caught:
        lock_location(str(tmp_path / "missing.yml"))
    assert str(caught.value).startswith(f"cannot read inventory {tmp_path / 'missing.yml'}: ")
    assert "No such file" in str(caught.value)


def test_a_new_lock_directory_is_world_writable_and_sticky(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "locks"
    old = os.umask(0o022)
    try:
        ensure_lock_dir(directory)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o1777
    ensure_lock_dir(directory)  # an existing safe one is kept


def test_an_unsafe_lock_directory_is_refused_with_its_fix(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    with pytest.raises(TargetEnvironmentError) as caught:
        ensure_lock_dir(open_dir)
    assert str(caught.value) == (
        f"unsafe lock directory {open_dir}: it is world-writable without the sticky bit: "
        f"anyone could replace a lock; fix it (install -d -m 1777 -o root {open_dir}) or set "
        "DRILLCTL_LOCK_DIR"
    )
    link = tmp_path / "link"
    link.symlink_to(open_dir)
    with pytest.raises(TargetEnvironmentError) as caught:
        ensure_lock_dir(link)
    assert "it is not a directory (a symlink is refused)" in str(caught.value)
    os.chmod(open_dir, 0o755)
    ensure_lock_dir(open_dir)  # only we may write there: safe


def test_a_lock_directory_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o755)
    real = os.lstat

    def owned_by(uid: int) -> None:
        def lstat(path: Any) -> os.stat_result:
            st = list(real(path))
            st[stat.ST_UID] = uid
            return os.stat_result(st)

        monkeypatch.setattr(lock_mod.os, "lstat", lstat)

    owned_by(4321)
    with pytest.raises(TargetEnvironmentError) as caught:
        ensure_lock_dir(directory)
    assert "it belongs to uid 4321, neither root nor you" in str(caught.value)
    owned_by(0)
    ensure_lock_dir(directory)  # root's
    monkeypatch.setattr(lock_mod.os, "geteuid", lambda: 4000)
    ensure_lock_dir(directory)  # root's, for another user too
    owned_by(os.geteuid())
    ensure_lock_dir(directory)  # ours


def test_a_lock_directory_that_cannot_be_created_is_an_environment_error(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TargetEnvironmentError) as caught:
        ensure_lock_dir(blocker / "locks")
    assert str(caught.value).startswith(f"cannot create the lock directory {blocker / 'locks'}: ")


def test_a_shared_file_is_readable_and_writable_by_all_and_never_a_symlink(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.lock"
    old = os.umask(0o077)
    try:
        fd = open_shared(path)
    finally:
        os.umask(old)
    os.close(fd)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666
    link = tmp_path / "y.lock"
    link.symlink_to(path)
    with pytest.raises(TargetEnvironmentError) as caught:
        open_shared(link)
    assert str(caught.value) == f"{link} is a symlink; refusing to use it"
    with pytest.raises(TargetEnvironmentError) as caught:
        open_shared(tmp_path / "missing" / "z.lock")
    assert str(caught.value).startswith(f"cannot open {tmp_path / 'missing' / 'z.lock'}: ")


def test_a_holder_writes_who_it_is_and_empties_the_record_when_it_lets_go(
    locks: Path, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text("all: {}\n")
    lock = InventoryLock(str(inv), "run-1", "alice", command="exec")
    lock.acquire("/runs/1")
    assert is_held(lock.path)
    record = read_holder(lock.path)
    assert record is not None
    assert record == {
        "operator": "alice",
        "user": record["user"],
        "uid": os.geteuid(),
        "pid": os.getpid(),
        "command": "exec",
        "run_id": "run-1",
        "run_dir": "/runs/1",
        "since": NOW,
        "inventory": str(inv.resolve()),
    }
    assert record["user"]
    lock.release()
    assert not is_held(lock.path)
    assert lock.path.read_text() == ""
    lock.release()  # twice is harmless
    InventoryLock("", "run-3", "").release()  # as is a lock never taken
    plain = InventoryLock("", "run-2", "")
    plain.acquire()
    record = read_holder(plain.path)
    assert record is not None
    assert record["command"] == "run"
    assert record["run_dir"] == ""
    assert record["operator"] == record["user"]  # no operator given: the login name
    plain.release()


def test_a_held_lock_is_refused_naming_its_holder_and_the_lock(locks: Path) -> None:
    first = InventoryLock("", "run-1", "alice")
    first.acquire("/runs/1")
    try:
        with pytest.raises(TargetEnvironmentError) as caught:
            InventoryLock("", "run-2", "bob").acquire()
        assert str(caught.value) == (
            f"another drill holds the lock on localhost: alice (pid {os.getpid()}, run run-1) "
            f"since {NOW}; wait for it to finish (lock {locks / 'localhost.lock'})"
        )
    finally:
        first.release()


def test_a_holder_that_has_not_written_its_record_gets_a_short_grace(
    locks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locks.mkdir(mode=0o1777)
    os.chmod(locks, 0o1777)
    path = locks / "localhost.lock"
    path.write_text("")
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    clock = [100.0]
    naps: list[float] = []

    def sleep(s: float) -> None:
        naps.append(s)
        clock[0] += s
        if len(naps) == 3:  # the starting holder gives up: the lock is free
            os.close(fd)

    monkeypatch.setattr(lock_mod.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(lock_mod.time, "sleep", sleep)
    lock = InventoryLock("", "run-2", "bob")
    lock.acquire()
    lock.release()
    assert naps == [0.02, 0.02, 0.02]


def test_the_grace_ends_after_half_a_second(locks: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locks.mkdir(mode=0o1777)
    os.chmod(locks, 0o1777)
    path = locks / "localhost.lock"
    path.write_text("")
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    clock = [100.0]
    naps: list[float] = []

    def sleep(s: float) -> None:
        naps.append(s)
        clock[0] += 0.125

    monkeypatch.setattr(lock_mod.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(lock_mod.time, "sleep", sleep)
    try:
        with pytest.raises(TargetEnvironmentError, match="a process that has not said who"):
            InventoryLock("", "run-2", "bob").acquire()
    finally:
        os.close(fd)
    # Tried at 100.0, .125, .25, .375, .5 (the deadline, not past it) and .625: past it.
    assert len(naps) == 5
    assert not json.loads(path.read_text() or "null")  # the holder's (empty) file untouched
