"""The drill's timeline: what happened when, on the runner's monotonic clock, and one
probe's samples in the measured window (the recovery figures are measured from it in
runner/measure/recovery.py; docs/result-json.md, "How the figures are defined").

The measured window opens at the earlier of deploy start and first fault, or earlier where
the playbook says so (`measure_from: prepare` sets `window_from` to the start of prepare);
at the first sample when none was recorded. It closes at the end of verify (at the last
sample when that was not recorded). Samples outside it are no evidence: a failure while
the baseline was being prepared is not part of the incident.

A sample's verdict stands for the state of the service from its own time until the next
sample (the last one: until the window closes): `intervals`. Unknown samples are gaps in
the evidence; `known_intervals` measures the time between consecutive known samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from runner.measure.samples import AvailabilitySample
from runner.measure.specs import DEFAULT_HEALTHY_AFTER


@dataclass(frozen=True)
class Timeline:
    """What happened when, on the runner's monotonic clock, plus one probe's samples.

    `probe` selects one availability probe instance by its exact label (`health@web1`); it
    may be left out only when all samples come from one instance, as interleaved instances
    would make sample intervals meaningless. `detected`: the first trigger came true;
    `decided`: the rollback was decided (automatically or by an operator); `verify_ended`
    closes the window in which "stays healthy" is judged. `healthy_after` is the N of "N
    consecutive healthy samples" that make a recovery.
    """

    samples: tuple[AvailabilitySample, ...] = ()
    probe: str | None = None
    deploy_started: float | None = None
    first_fault_injected: float | None = None
    detected: float | None = None
    decided: float | None = None
    rollback_started: float | None = None
    rollback_ended: float | None = None
    verify_ended: float | None = None
    healthy_after: int = DEFAULT_HEALTHY_AFTER
    window_from: float | None = None  # measure_from: prepare opens the window this early

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", tuple(self.samples))
        if self.healthy_after < 1:
            raise ValueError(f"healthy_after must be at least 1, got {self.healthy_after}")
        names = sorted({s.probe for s in self.samples})
        if self.probe is None and len(names) > 1:
            raise ValueError(f"samples of several probes ({', '.join(names)}): name one")

    @cached_property
    def window_opens(self) -> float | None:
        """The earliest of `window_from`, deploy start and first fault; None: from the first
        sample."""
        starts = (self.window_from, self.deploy_started, self.first_fault_injected)
        known = [t for t in starts if t is not None]
        return min(known) if known else None

    @cached_property
    def window_closes(self) -> float | None:
        """The end of verify, or the probe's last sample when that was not recorded."""
        if self.verify_ended is not None:
            return self.verify_ended
        own = [s.t for s in self.samples if self.probe in (None, s.probe)]
        return max(own) if own else None

    @cached_property
    def series(self) -> tuple[AvailabilitySample, ...]:
        """The probe's samples inside the measured window, in time order."""
        opens, closes = self.window_opens, self.window_closes
        if closes is None:
            return ()
        low = -math.inf if opens is None else opens
        own = (s for s in self.samples if self.probe in (None, s.probe) and low <= s.t <= closes)
        return tuple(sorted(own, key=lambda s: s.t))

    @cached_property
    def intervals(self) -> tuple[float, ...]:
        """For each sample of `series`, how long its verdict stands (until the next one)."""
        series, closes = self.series, self.window_closes
        if not series or closes is None:
            return ()
        ends = [s.t for s in series[1:]] + [closes]
        return tuple(end - s.t for s, end in zip(series, ends, strict=True))

    @cached_property
    def known_intervals(self) -> tuple[float, ...]:
        """For each known (not unknown) sample of `series`, the time to the next known one
        (the last: to the window's close): how far an edge seen at it may lie."""
        known, closes = [s for s in self.series if not s.unknown], self.window_closes
        if not known or closes is None:
            return ()
        ends = [s.t for s in known[1:]] + [closes]
        return tuple(end - s.t for s, end in zip(known, ends, strict=True))

    @cached_property
    def unknown_samples(self) -> int:
        return sum(1 for s in self.series if s.unknown)
