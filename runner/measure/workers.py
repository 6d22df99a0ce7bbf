"""Background workers that died or hung: the record that keeps their silence from passing.

Probes and alert triggers each sample in their own threads. A thread that dies on an
exception, or is still running when it was told to stop, leaves a gap in the evidence that
looks exactly like a quiet, healthy stretch. `WorkerFailures` records why each worker
failed, journals it, tells the run at once, and sums it up for the verdict, so the run
ends in error instead of ok.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from runner.journal import Journal
from runner.journal_events import Event


class WorkerFailures:
    """Which workers of one kind (`probe worker`, `alert poller`) failed, and why."""

    def __init__(
        self, kind: str, journal: Journal, on_failure: Callable[[str], None] | None = None
    ) -> None:
        self.kind = kind
        self.journal = journal
        self.on_failure = on_failure
        self._lock = threading.Lock()
        self._why: dict[str, str] = {}  # worker name -> why it died or hung

    def guard(self, name: str, work: Callable[[], None]) -> None:
        """Run a worker's body; an exception ends it as a recorded failure, not in silence."""
        try:
            work()
        except Exception as exc:  # a dead worker must not pass for a healthy stretch
            self.record(name, f"died: {type(exc).__name__}: {exc}")

    def record(self, name: str, why: str) -> None:
        """Note that worker `name` failed: kept for the summary, journaled, and reported."""
        with self._lock:
            self._why[name] = why
        self.journal.record(Event.PROBE_FAILED, probe=name, error=why[:300])
        if self.on_failure is not None:
            self.on_failure(f"{self.kind} {name} {why}")

    def join(self, threads: Iterable[threading.Thread], timeout: float) -> None:
        """Wait at most `timeout` seconds in all for the threads; one still alive has hung."""
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                self.record(thread.name, f"did not stop within {timeout:g}s of the end")

    def summary(self) -> str:
        """Why the workers' evidence cannot be trusted ('' when every worker lived)."""
        with self._lock:
            return "; ".join(f"{self.kind} {k} {v}" for k, v in sorted(self._why.items()))
