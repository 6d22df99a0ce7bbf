"""One drill per inventory per controller, for every user: the inventory lock and its last run.

Locks live in one system-wide directory (`lock_dir()`), world-writable with the sticky bit
like /tmp, so every user's drillctl meets the same lock. A lock is named after the
inventory file's identity (device and inode of the resolved file), so a symlink or a hard
link to the inventory meets the same lock as its path. The kernel frees a lock (flock) when
its holder dies, even by `kill -9`.

Beside each lock, `*.last.json` records the last run on that inventory and whether its fault
ledger closed, so the next run can refuse to start while faults of a dead run are still in
effect (`drillctl recover RUN_DIR` first).
"""

from __future__ import annotations

import errno
import fcntl
import getpass
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import TargetEnvironmentError
from runner.journal import utc_now

LOCK_DIR_ENV = "DRILLCTL_LOCK_DIR"
# The first whose parent exists: /run/lock is the FHS place for lock files (a tmpfs,
# emptied at boot like the processes the locks name); /var/lock on older systems.
DEFAULT_LOCK_DIRS = (Path("/run/lock/drillctl"), Path("/var/lock/drillctl"))
FALLBACK_LOCK_DIR = Path("/tmp/drillctl-locks")
ANONYMOUS_GRACE_S = 0.5
LOCALHOST_KEY = "localhost"  # a drill without -i runs on the implicit localhost inventory


@dataclass(frozen=True)
class LockLocation:
    """Where the lock of one inventory lives, and the record of its last run."""

    directory: Path
    lock: Path
    last_run: Path
    inventory: str  # the inventory's resolved path, or "localhost"


def lock_dir() -> Path:
    """The system-wide lock directory: $DRILLCTL_LOCK_DIR, else /run/lock/drillctl."""
    configured = os.environ.get(LOCK_DIR_ENV)
    if configured:
        return Path(configured)
    for candidate in DEFAULT_LOCK_DIRS:
        if candidate.parent.is_dir():
            return candidate
    return FALLBACK_LOCK_DIR


def lock_location(inventory_file: str) -> LockLocation:
    """The lock directory, lock file and last-run record of an inventory ("" for localhost).

    Keyed on the resolved file's device and inode: every path to one file meets one lock.
    """
    directory = lock_dir()
    if not inventory_file:
        stem, shown = LOCALHOST_KEY, LOCALHOST_KEY
    else:
        resolved = Path(inventory_file).resolve()
        try:
            st = os.stat(resolved)
        except OSError as exc:
            raise TargetEnvironmentError(f"cannot read inventory {inventory_file}: {exc}") from None
        stem, shown = f"inventory-{st.st_dev:x}-{st.st_ino:x}", str(resolved)
    return LockLocation(
        directory, directory / f"{stem}.lock", directory / f"{stem}.last.json", shown
    )


def ensure_lock_dir(directory: Path) -> None:
    """Create the directory world-writable and sticky, or make sure an existing one is safe.

    Safe means: a real directory (not a symlink), owned by root or by us, and if others may
    write in it, sticky, so nobody can remove or replace a lock file someone else holds.
    """
    try:
        directory.mkdir(parents=True, mode=0o1777)
        os.chmod(directory, 0o1777)  # mkdir's mode passes through the umask
    except FileExistsError:
        pass
    except PermissionError as exc:
        raise TargetEnvironmentError(
            f"cannot create the lock directory {directory}: {exc}; create it once as root "
            f"(install -d -m 1777 {directory}) or set {LOCK_DIR_ENV}"
        ) from None
    except OSError as exc:
        raise TargetEnvironmentError(
            f"cannot create the lock directory {directory}: {exc}"
        ) from None
    st = os.lstat(directory)
    problem = ""
    if not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory (a symlink is refused)"
    elif st.st_uid not in (0, os.geteuid()):
        problem = f"belongs to uid {st.st_uid}, neither root nor you"
    elif st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX:
        problem = "is world-writable without the sticky bit: anyone could replace a lock"
    if problem:
        raise TargetEnvironmentError(
            f"unsafe lock directory {directory}: it {problem}; fix it "
            f"(install -d -m 1777 -o root {directory}) or set {LOCK_DIR_ENV}"
        )


def open_shared(path: Path) -> int:
    """Open (creating) a file every user may read and write; never through a symlink."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TargetEnvironmentError(f"{path} is a symlink; refusing to use it") from None
        raise TargetEnvironmentError(f"cannot open {path}: {exc}") from None
    if os.fstat(fd).st_uid == os.geteuid():
        os.fchmod(fd, 0o666)  # the umask narrowed it; other users must open it too
    return fd


class InventoryLock:
    """An exclusive lock per inventory, held for a whole run or exec (freed on any exit)."""

    def __init__(
        self, inventory_file: str, run_id: str, operator: str, *, command: str = "run"
    ) -> None:
        self.location = lock_location(inventory_file)
        self.path = self.location.lock
        self.run_id = run_id
        self.operator = operator
        self.command = command
        self._fd: int | None = None

    def acquire(self, run_dir: str = "") -> None:
        """Take the lock or raise TargetEnvironmentError naming who holds it since when."""
        ensure_lock_dir(self.location.directory)
        fd = open_shared(self.path)
        if not _take(fd, self.path):
            holder = describe_holder(read_holder(self.path))
            os.close(fd)
            raise TargetEnvironmentError(
                f"another drill holds the lock on {self.location.inventory}: {holder}; "
                f"wait for it to finish (lock {self.path})"
            ) from None
        info = {
            "operator": self.operator or _login(),
            "user": _login(),
            "uid": os.geteuid(),
            "pid": os.getpid(),
            "command": self.command,
            "run_id": self.run_id,
            "run_dir": run_dir,
            "since": utc_now(),
            "inventory": self.location.inventory,
        }
        rewrite(fd, json.dumps(info))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            # Emptied first: a reader must never take a finished run for a running one.
            rewrite(self._fd, "")
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _take(fd: int, path: Path) -> bool:
    """Try the exclusive lock; retry briefly while the holder has not written its record
    (it is just starting, or `is_held` is probing), never while a real holder has."""
    deadline = time.monotonic() + ANONYMOUS_GRACE_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if read_holder(path) is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def is_held(path: Path) -> bool:
    """Whether some live process holds the lock at `path` (probed without taking it)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's shared lock, if it got one
    return False


def read_holder(path: Path) -> dict[str, Any] | None:
    """The holder's record in a lock file (operator, pid, run_id, run_dir, since), or None."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def held_locks() -> Iterator[tuple[Path, dict[str, Any] | None]]:
    """Every lock in the lock directory that a live process holds, with its holder record."""
    directory = lock_dir()
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.lock")):
        if is_held(path):
            yield path, read_holder(path)


def describe_holder(info: dict[str, Any] | None) -> str:
    if not info:
        return "a process that has not said who it is yet"
    try:
        what = "drillctl exec" if info.get("command") == "exec" else f"run {info['run_id']}"
        return f"{info['operator']} (pid {info['pid']}, {what}) since {info['since']}"
    except KeyError:
        return "an unknown process"


def rewrite(fd: int, text: str) -> None:
    """Replace a record file's text in place, in one write.

    The new text goes over the old in a single write, padded with blanks to the old length,
    and only then is the file cut to size: a runner killed between any two of these calls
    leaves the old record or the new one (JSON readers skip trailing blanks), never an empty
    file that would stop the next run on the inventory.
    """
    data = text.encode()
    old = os.fstat(fd).st_size
    os.pwrite(fd, data.ljust(old, b" "), 0)
    if old > len(data):
        os.ftruncate(fd, len(data))
    os.fsync(fd)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.geteuid()}"
