"""Triggers: the conditions on probe samples that decide an automatic rollback.

The rules are the playbook's `TriggerRule`s, built when it loads. Armed when the change
begins (deploy). The first condition to come true fires once, with the samples that made it
true, so the journal shows why the rollback started. Unknown samples (a probe that could not
judge) are skipped by every rule: neither failures nor successes.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from runner.measure.samples import AvailabilitySample
from runner.measure.specs import TriggerRule


@dataclass(frozen=True)
class Fired:
    rule: TriggerRule
    probe: str
    t: float
    detail: str
    samples: tuple[AvailabilitySample, ...]


@dataclass
class _State:
    streak: list[AvailabilitySample] = field(default_factory=list)
    window: deque[AvailabilitySample] = field(default_factory=deque)


class TriggerWatch:
    """Feeds samples to the rules; calls `on_fire` once, for the first rule that comes true."""

    def __init__(self, rules: Sequence[TriggerRule], on_fire: Callable[[Fired], None]) -> None:
        self.rules = [r for r in rules if r.kind != "step_failed"]
        self.on_fire = on_fire
        self.armed_at: float | None = None
        self.fired: Fired | None = None
        self._state: dict[tuple[int, str], _State] = {}
        self._lock = threading.Lock()

    def arm(self, t: float) -> None:
        with self._lock:
            self.armed_at = t

    def disarm(self) -> None:
        with self._lock:
            self.armed_at = None

    def observe(self, sample: AvailabilitySample) -> None:
        """A probe's sample, judged by every rule on that probe."""
        probe = sample.probe.split("@", 1)[0]
        self._observe(sample, lambda rule: rule.kind != "alert" and rule.probe == probe)

    def observe_alert(self, rule: TriggerRule, sample: AvailabilitySample) -> None:
        """An alert poll of `rule`, judged by that rule alone."""
        self._observe(sample, lambda candidate: candidate is rule)

    def _observe(
        self, sample: AvailabilitySample, judged_by: Callable[[TriggerRule], bool]
    ) -> None:
        with self._lock:
            if self.armed_at is None or self.fired is not None or sample.t < self.armed_at:
                return
            for i, rule in enumerate(self.rules):
                if not judged_by(rule):
                    continue
                fired = self._evaluate(
                    rule, self._state.setdefault((i, sample.probe), _State()), sample
                )
                if fired is not None:
                    self.fired = fired
                    break
            else:
                return
        self.on_fire(fired)

    def _evaluate(
        self, rule: TriggerRule, state: _State, sample: AvailabilitySample
    ) -> Fired | None:
        if sample.unknown:
            # The probe could not judge (its Prometheus did not answer): neither a failure
            # that counts toward a rollback nor a success that resets a streak.
            return None
        if rule.kind == "alert":  # a poll that found the alert firing
            if sample.failed:
                return Fired(rule, sample.probe, sample.t, sample.error, (sample,))
            return None
        if rule.kind == "consecutive_failures":
            state.streak = [*state.streak, sample] if sample.failed else []
            if len(state.streak) >= rule.consecutive_failures:
                return Fired(rule, sample.probe, sample.t, rule.describe(), tuple(state.streak))
            return None
        state.window.append(sample)
        while state.window and state.window[0].t <= sample.t - rule.window_s:
            state.window.popleft()
        # Judge a window only once it is full, so one early failure is not a 100 % error rate.
        if self.armed_at is None or sample.t - self.armed_at < rule.window_s:
            return None
        window = tuple(state.window)
        if rule.kind == "error_rate":
            rate = sum(1 for s in window if s.failed) / len(window)
            if rate > rule.error_rate:
                return Fired(
                    rule, sample.probe, sample.t, f"{rule.describe()} (measured {rate:.0%})", window
                )
            return None
        latencies = sorted(
            math.inf if not s.ok or s.latency_s is None else s.latency_s for s in window
        )
        value = latencies[
            min(len(latencies) - 1, math.ceil(rule.latency_p / 100 * len(latencies)) - 1)
        ]
        if value > rule.above_s:
            shown = "a failure" if math.isinf(value) else f"{value:.3f}s"
            return Fired(
                rule, sample.probe, sample.t, f"{rule.describe()} (measured {shown})", window
            )
        return None
