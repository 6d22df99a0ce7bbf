"""Process trees read from /proc: the sessions a test's own sshd serves, and killing them.

Tests find processes through the tree of a process they started (an sshd's pid file),
never by a name pattern: other drills and tests run on the same machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def _stat(pid: int) -> tuple[str, int] | None:
    """(comm, ppid) of a process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm is in parentheses and may hold spaces: split after the last ')'.
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return comm, int(fields[1])


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pid:
                found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before their children."""
    out: list[int] = []
    todo = children(pid)
    while todo:
        child = todo.pop(0)
        out.append(child)
        todo.extend(children(child))
    return out


def comm(pid: int) -> str:
    stat = _stat(pid)
    return stat[0] if stat else ""


def kill_session(session: int) -> list[int]:
    """SIGKILL one per-connection sshd and its sshd children, as a crash would; return the
    other processes of the session (the commands it ran), which the caller must reap."""
    tree = [session, *descendants(session)]
    sshd = [p for p in tree if comm(p).startswith("sshd")]
    for pid in sshd:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return [p for p in tree if p not in sshd]


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
