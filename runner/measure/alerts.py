"""Alert triggers: the rollback rule the team already keeps in monitoring.

One thread per `alert` trigger asks Prometheus or Alertmanager, every `every`, whether the
named alert fires. Each answer becomes a sample of the trigger (label `alert:NAME`) fed to
the `TriggerWatch`, which fires on the first firing answer while the change is watched: a
firing alert is an unhealthy sample, a quiet one a healthy sample, and a source that could
not answer an unknown one, which never fires and never counts as healthy. These samples
are trigger evidence only, never availability measurements.

The journal gets the first answer and every change of state (`alert_state`: firing, quiet
or unreachable, with the reason), so an unreachable source is on the record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from runner.connections.base import CancelToken
from runner.journal import Journal
from runner.journal_events import Event
from runner.measure.prometheus import Unanswered, alert_state
from runner.measure.samples import AvailabilitySample
from runner.measure.specs import TriggerRule
from runner.measure.workers import WorkerFailures

STOP_JOIN_S = 10.0  # a poll is bounded by its timeout; this long past stop, it has hung
FIRING, QUIET, UNREACHABLE = "firing", "quiet", "unreachable"


@dataclass(frozen=True)
class AlertWatch:
    """One alert trigger with its source URL rendered."""

    rule: TriggerRule
    url: str

    @property
    def label(self) -> str:
        return self.rule.watches


class AlertPoller:
    """Polls every alert trigger in its own thread until stopped."""

    def __init__(
        self,
        watches: list[AlertWatch],
        journal: Journal,
        observe: Callable[[TriggerRule, AvailabilitySample], None],
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.watches = watches
        self.journal = journal
        self.observe = observe
        self.failures = WorkerFailures("alert poller", journal, on_failure)
        self._stop = CancelToken()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for watch in self.watches:
            thread = threading.Thread(
                target=self._worker, args=(watch,), daemon=True, name=f"alert-{watch.label}"
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self._stop.cancel()
        self.failures.join(self._threads, STOP_JOIN_S)

    def failure(self) -> str:
        """Why an alert trigger stopped being watched ('' when every poller lived)."""
        return self.failures.summary()

    def _worker(self, watch: AlertWatch) -> None:
        # A dead poller must not pass for a quiet alert.
        self.failures.guard(f"alert-{watch.label}", lambda: self._loop(watch))

    def _loop(self, watch: AlertWatch) -> None:
        rule, last = watch.rule, ""
        start, k = time.monotonic(), 0
        while True:
            sample = poll(watch, time.monotonic())
            if self._stop.cancelled:
                return  # cut short by the end of watching: no verdict
            state = FIRING if sample.failed else UNREACHABLE if sample.unknown else QUIET
            if state != last:
                self.journal.record(
                    Event.ALERT_STATE,
                    alert=rule.alert,
                    source=rule.source,
                    state=state,
                    detail=self.journal.mask.head(sample.error, 300),
                )
                last = state
            self.observe(rule, sample)
            k += 1
            due = start + k * rule.every_s
            now = time.monotonic()
            if due < now:  # a slow poll: skip to the next slot, as probes do
                k = int((now - start) / rule.every_s) + 1
                due = start + k * rule.every_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return


def poll(watch: AlertWatch, t: float) -> AvailabilitySample:
    """One poll as a trigger sample: firing is a failed sample, unreachable an unknown one."""
    rule = watch.rule
    started = time.monotonic()
    try:
        state = alert_state(rule.source, watch.url, rule.alert, rule.timeout_s)
    except Unanswered as exc:
        return AvailabilitySample(watch.label, t, False, None, f"unknown: {exc}", unknown=True)
    latency = time.monotonic() - started
    return AvailabilitySample(watch.label, t, not state.firing, latency, state.detail)
