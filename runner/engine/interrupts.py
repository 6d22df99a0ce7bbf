"""Ctrl-C and SIGTERM during a drill, by one matrix (the README's "Interrupts" table).

prepare, deploy, inject, verify
    first signal: stop the running step, skip the rest of the change, revert faults, roll
    back if the change began, clean up.
    second signal: skip the rest of the rollback (faults are reverted first), clean up.
rollback
    first signal: the rollback finishes (the terminal says a second signal aborts it).
    second signal: stop the rollback step (faults are reverted first), clean up.
cleanup
    any signal: cleanup finishes.

Every row ends the run with exit 130 and a journal whose last event is `interrupted`.
`reaction()` is that table as code; `DrillRun` tells `Interrupts` which phase runs.
Only kill -9 abandons a cleanup (and `drillctl recover` then reverts the faults).
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from runner.connections.base import CancelToken

# Phases in which a signal lets the running work finish instead of stopping it.
FINISHES_ON_FIRST = frozenset({"rollback", "cleanup"})
NEVER_STOPPED = frozenset({"cleanup"})


@dataclass(frozen=True)
class Reaction:
    """What one signal does: whether the running step is stopped, and what the terminal says."""

    stop_running_step: bool
    notice: str


def reaction(phase: str, count: int, name: str) -> Reaction:
    """The matrix: what signal number `count` (1 = first) does when it arrives in `phase`."""
    if phase in NEVER_STOPPED:
        return Reaction(
            False,
            f"{name}: cleanup is running and will finish, then the run exits 130 "
            "(only kill -9 abandons it; `drillctl recover RUN_DIR` then reverts faults)",
        )
    if phase == "rollback" and count == 1:
        return Reaction(
            False,
            f"{name}: the rollback will finish, then cleanup runs and the run exits 130; "
            "a second Ctrl-C (or SIGTERM) aborts the rollback",
        )
    if count == 1:
        return Reaction(
            True,
            f"{name}: stopping the current step; faults are reverted, then the rollback "
            "(if the change began) and cleanup run; a second signal skips the rollback",
        )
    return Reaction(
        True,
        f"{name} again: skipping the rest of rollback; faults are reverted first, "
        "then cleanup runs and finishes",
    )


class Interrupts:
    """Counts SIGINT/SIGTERM and reacts by the matrix for the phase the drill is in.

    The signal handler only queues the signal's name: the reaction runs on a thread of its
    own, because a handler runs on the main thread between two bytecodes and could find a
    lock (this one, or the terminal's) already held by the code it interrupted.
    """

    def __init__(
        self,
        notify: Callable[[str], None],
        on_signal: Callable[[str, str, int], None] | None = None,
    ) -> None:
        """`notify` tells the operator; `on_signal(name, phase, count)` keeps the evidence."""
        self.token = CancelToken()
        self.level = 0  # signals received so far
        self.signal_name = ""  # the first one's name, for the verdict
        self.phase = ""
        self._notify = notify
        self._on_signal = on_signal
        self._lock = threading.Lock()
        self._previous: dict[int, Any] = {}
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._dispatcher: threading.Thread | None = None

    # -- signal plumbing -------------------------------------------------------------
    def install(self) -> None:
        self._dispatcher = threading.Thread(target=self._dispatch, name="interrupts", daemon=True)
        self._dispatcher.start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if self._dispatcher is not None:
            self._queue.put(None)
            self._dispatcher.join(timeout=5)
            self._dispatcher = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._queue.put(signal.Signals(signum).name)  # SimpleQueue.put is reentrant

    def _dispatch(self) -> None:
        while (name := self._queue.get()) is not None:
            self.trip(name)

    # -- the matrix ------------------------------------------------------------------
    def trip(self, name: str) -> None:
        """One SIGINT/SIGTERM (or `drillctl halt`) arrived: react as the matrix says."""
        with self._lock:
            self.level += 1
            self.signal_name = self.signal_name or name
            phase, count = self.phase, self.level
            act = reaction(phase, count, name)
            if act.stop_running_step:
                self.token.cancel(f"interrupted by {name}")
        if self._on_signal is not None:
            self._on_signal(name, phase, count)
        self._notify(act.notice)

    def enter(self, phase: str) -> None:
        """The drill starts `phase`: a rollback after one signal, and cleanup always, run
        their steps even though the change's steps were stopped."""
        with self._lock:
            self.phase = phase
            if phase in NEVER_STOPPED or (phase in FINISHES_ON_FIRST and self.level < 2):
                self.token.reset()

    def abort_change(self, why: str = "") -> None:
        """Stop the running change step because a trigger fired (not an interrupt)."""
        self.token.cancel(
            f"stopped: rollback triggered ({why})" if why else "stopped: rollback triggered"
        )

    def interrupted(self) -> bool:
        return self.level > 0

    def rollback_abandoned(self) -> bool:
        """A second signal arrived: no (more) rollback steps run."""
        return self.level >= 2
