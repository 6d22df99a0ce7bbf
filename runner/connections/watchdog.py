"""Ending blocked calls from outside: one thread that fires a guard's abort when it is due.

Some library calls wait without a deadline of their own (paramiko waits for a channel
request's answer, or for a handshake, as long as the transport looks alive). The thread
running them cannot notice Ctrl-C or its deadline, so a guard registered here does it for
them: once the operation's cancel token has been set for `cancel_grace_s`, or its hard
deadline has passed, the guard's `abort` runs (closing the channel or shutting the socket
down), and the blocked call returns with an error the caller then explains.

A normal operation costs a dict insert and a delete; the thread only wakes while guards exist.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from runner.connections.base import CancelToken

TICK_S = 0.05

CANCELLED = "cancelled"
DEADLINE = "deadline"


class Guard:
    """One guarded operation; `fired` says why it was aborted ('' while it was not)."""

    def __init__(
        self,
        cancel: CancelToken | None,
        deadline: float | None,
        abort: Callable[[], None],
        cancel_grace_s: float,
    ) -> None:
        self.cancel = cancel
        self.deadline = deadline
        self.abort = abort
        self.cancel_grace_s = cancel_grace_s
        self.fired = ""

    def due(self, now: float) -> str:
        """Why the guard must fire now, or ''."""
        if self.fired:
            return ""
        cancelled_at = self.cancel.cancelled_at if self.cancel is not None else None
        if (
            cancelled_at is not None
            and self.cancel is not None
            and self.cancel.cancelled
            and now >= cancelled_at + self.cancel_grace_s
        ):
            return CANCELLED
        if self.deadline is not None and now >= self.deadline:
            return DEADLINE
        return ""


class Watchdog:
    """Fires the abort of every guard that is due; the aborts run in their own threads, so
    one that blocks (a socket that will not close) never delays the others."""

    def __init__(self) -> None:
        self._guards: dict[int, Guard] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(
        self,
        cancel: CancelToken | None,
        deadline: float | None,
        abort: Callable[[], None],
        cancel_grace_s: float = 1.0,
    ) -> Iterator[Guard]:
        """Guard the block: `abort` runs if it is still inside when it is due."""
        guard = Guard(cancel, deadline, abort, cancel_grace_s)
        key = next(self._ids)
        with self._lock:
            self._guards[key] = guard
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True, name="watchdog")
                self._thread.start()
        self._wake.set()
        try:
            yield guard
        finally:
            with self._lock:
                self._guards.pop(key, None)

    def _loop(self) -> None:
        while True:
            with self._lock:
                guards = list(self._guards.values())
            if not guards:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            now = time.monotonic()
            for guard in guards:
                why = guard.due(now)
                if why:
                    guard.fired = why
                    threading.Thread(target=_quietly, args=(guard.abort,), daemon=True).start()
            time.sleep(TICK_S)


def _quietly(abort: Callable[[], None]) -> None:
    # The guarded call reports what happened; a failing abort has nothing to add.
    with contextlib.suppress(Exception):
        abort()


WATCHDOG = Watchdog()
