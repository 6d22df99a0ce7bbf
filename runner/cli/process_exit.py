"""Leaving the process once a command is done, without the interpreter's teardown.

After a drill every piece of evidence is already on disk (the journal's final event
fsync'ed, result.json and the reports written, the history recorded), yet tearing the
interpreter down (freeing every module and object, paramiko's transports winding down)
still costs 0.05 to 0.25 s of wall time on a loaded machine. `exit_now` skips that
teardown, and only that: it leaves through the interpreter's ordinary exit whenever
something could still be lost.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

# What CPython exits with when it cannot flush stdout or stderr at shutdown.
FLUSH_FAILED = 120


def exit_now(code: int) -> NoReturn:
    """End the process with `code` once stdout and stderr are flushed and exit hooks ran.

    Falls back to `SystemExit` (the interpreter's own exit, which joins threads) while a
    non-daemon thread is still running, when the streams cannot be flushed, or under a
    profiler or debugger, so no work and no output is ever cut short. Only for the
    program's entry point: in-process callers (tests) keep their interpreter.
    """
    if _observed() or _unfinished_threads() or not _flushed():
        raise SystemExit(code)
    # The hooks the interpreter would run (logging's flush, paramiko's lingering
    # transports, temporary files' finalizers); they may print, so flush once more.
    atexit._run_exitfuncs()
    os._exit(code if _flushed() else FLUSH_FAILED)


def _observed() -> bool:
    """A profiler, tracer or debugger runs us (`python -m cProfile -o ...`): it writes its
    findings after our code returns, which a bare exit would cut off."""
    return sys.getprofile() is not None or sys.gettrace() is not None


def _unfinished_threads() -> list[threading.Thread]:
    """Non-daemon threads other than this one: the interpreter would wait for them."""
    current = threading.current_thread()
    return [t for t in threading.enumerate() if t is not current and not t.daemon and t.is_alive()]


def _flushed() -> bool:
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe or stream: let the interpreter report it
        return False
    return True
