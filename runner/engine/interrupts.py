"""Ctrl-C and SIGTERM during a drill: the first stops the change and rolls back, the second
skips to cleanup; cleanup itself is never skipped (kill -9 is the operator's last word)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from runner.connections.base import CancelToken


class Interrupts:
    """Counts interrupts and cancels whatever runs, unless the drill is cleaning up."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        self.token = CancelToken()
        self.level = 0
        self.signal_name = ""
        self.in_cleanup = False
        self._notify = notify
        self._lock = threading.Lock()
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.trip(signal.Signals(signum).name)

    def trip(self, name: str) -> None:
        with self._lock:
            if self.in_cleanup:
                self._notify(f"{name}: cleanup is running and will finish (kill -9 abandons it)")
                return
            self.level += 1
            self.signal_name = self.signal_name or name
            level = self.level
        self.token.cancel(f"interrupted by {name}")
        if level == 1:
            self._notify(f"{name}: stopping the current step; rollback and cleanup will run")
        elif level == 2:
            self._notify(f"{name} again: skipping the rest of rollback; cleanup will run")

    def abort_change(self, why: str = "") -> None:
        """Stop the running change step because a trigger fired (not an interrupt)."""
        self.token.cancel(
            f"stopped: rollback triggered ({why})" if why else "stopped: rollback triggered"
        )

    def interrupted(self) -> bool:
        return self.level > 0

    def resume_for(self, phase: str) -> None:
        """Clear the cancel so a recovery phase (rollback, cleanup) can run its steps."""
        with self._lock:
            self.in_cleanup = phase == "cleanup"
            if phase == "cleanup" or (phase == "rollback" and self.level < 2):
                self.token.reset()
