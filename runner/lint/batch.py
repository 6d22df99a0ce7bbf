"""Lint of many playbooks in one call, on two cores when there are two.

Each file's findings depend only on the file, the inventory and the extra variables, so the
files split into two contiguous halves: a forked child lints the second half while this
process lints the first, and the findings are joined in the order the files were given. The
output and exit code are those of linting one file after another; only the wall time differs.

Anything unusual in the child (an exception, a signal, unreadable results) is not trusted:
this process then lints the second half itself, so whatever the child met is met again here,
with the same message and exit code as a one-process lint.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Sequence
from typing import BinaryIO

from runner.errors import Diagnostic
from runner.inventory.model import Inventory
from runner.lint.linter import lint_file

# Below this many files a fork (a few milliseconds, and a second interpreter's page faults)
# costs more than the second core gives back.
MIN_FILES_TO_SPLIT = 16


def lint_files(
    paths: Sequence[str], *, inventory: Inventory | None, extra_vars: Sequence[str]
) -> list[Diagnostic]:
    """Every file's findings, file by file in the order given, as `lint_file` finds them."""
    if len(paths) < MIN_FILES_TO_SPLIT or _cores() < 2 or not hasattr(os, "fork"):
        return _serial(paths, inventory, extra_vars)
    half = (len(paths) + 1) // 2
    first, second = paths[:half], paths[half:]
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: lint the second half, hand the findings back, leave at once
        os.close(read_end)
        status = 1
        try:
            data = pickle.dumps(_serial(second, inventory, extra_vars))
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            status = 0
        finally:
            # No atexit handlers, no buffers of the parent's flushed twice.
            os._exit(status)
    os.close(write_end)
    source = os.fdopen(read_end, "rb")
    try:
        found = _serial(first, inventory, extra_vars)
        rest = _collect(pid, source)
    except BaseException:
        source.close()
        _abandon(pid)
        raise
    if rest is None:  # the child failed: meet what it met here, as a serial lint would
        rest = _serial(second, inventory, extra_vars)
    return found + rest


def _serial(
    paths: Sequence[str], inventory: Inventory | None, extra_vars: Sequence[str]
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for path in paths:
        found.extend(lint_file(path, inventory=inventory, extra_vars=extra_vars))
    return found


def _collect(pid: int, source: BinaryIO) -> list[Diagnostic] | None:
    """The child's findings, or None unless it exited 0 with a list of findings."""
    with source:
        data = source.read()
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    try:
        rest = pickle.loads(data)
    except Exception:  # a truncated stream: lint that half again here
        return None
    if not isinstance(rest, list) or not all(isinstance(d, Diagnostic) for d in rest):
        return None
    return rest


def _abandon(pid: int) -> None:
    """Stop and reap the child this call forked (interrupted, or this half raised)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
