"""The recovery figures measured from a drill's timeline (runner/measure/timeline.py, which
also defines the measured window; docs/result-json.md, "How the figures are defined").
Each figure is a difference of two recorded monotonic times or a sum of sample intervals;
one that cannot be measured is None and `Measurement.notes` says why.

Sampling resolution: a sample's verdict stands for the state of the service from its own
time until the next sample (the last one: until the window closes), so an outage edge is
known only to within the interval around it. An outage [a, b) sampled every d seconds is
measured as a downtime within d of b - a, and T0 and the recovery point each lag the true
edge by less than d. `Measurement.resolution_s` is the longest such interval observed.

Unknown samples (a Prometheus probe whose Prometheus did not answer) are gaps in the
evidence, never healthy and never unhealthy. Their time is neither downtime nor uptime: it
is `unknown_s`. They neither count toward the N healthy samples of a recovery nor break
them, so a recovery is confirmed only by N healthy samples after the last failed one: an
outage followed by nothing but unknown samples has no recovery point, hence no RTO. An
outage edge inside an unknown stretch is known only to within it (T0 and the recovery point
are the first failed and first healthy samples that bracket it), and `resolution_s` counts
the time between consecutive known samples. With unknown samples in the window and no
failure or fault, "no incident" cannot be claimed: T0 is not measured.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline

NO_INCIDENT = (
    "no incident: no fault was injected and no availability sample failed after the change "
    "began, so time to detect, recovery and RTO do not apply"
)
GAP_FACTOR = 3.0  # a sample interval this many times the median is reported as a probe gap


class _Figure(NamedTuple):
    value: float | None
    note: str | None = None


def _between(
    figure: str, start: tuple[str, float | None], end: tuple[str, float | None]
) -> _Figure:
    """`end - start`, or None with the reason when either is missing or they are out of order."""
    (start_name, t_start), (end_name, t_end) = start, end
    if t_start is None:
        return _Figure(None, f"{figure} not measured: no {start_name} was recorded")
    if t_end is None:
        return _Figure(None, f"{figure} not measured: no {end_name} was recorded")
    if t_end < t_start:
        note = f"{figure} not measured: the {end_name} (t={t_end:.3f}) precedes the {start_name}"
        return _Figure(None, note)
    return _Figure(t_end - t_start)


def _first_failed(tl: Timeline) -> float | None:
    return next((s.t for s in tl.series if s.failed), None)


def _unknown_why(tl: Timeline) -> str:
    n, total = tl.unknown_samples, len(tl.series)
    last = next((s.error for s in reversed(tl.series) if s.unknown and s.error), "")
    return f"{n} of {total} sample(s) in the window were unknown" + (
        f" (last: {last})" if last else ""
    )


def _incident_start(tl: Timeline) -> _Figure:
    known = [t for t in (tl.first_fault_injected, _first_failed(tl)) if t is not None]
    if known:
        return _Figure(min(known))
    if tl.unknown_samples:
        # Blind for part of the window: an outage there could not have been seen.
        return _Figure(
            None,
            f"incident start not measured: no fault and no failed sample, but {_unknown_why(tl)}:"
            " an outage in them could not have been seen",
        )
    return _Figure(None, NO_INCIDENT)


def _recovery_unseen(tl: Timeline) -> bool:
    """After the incident began, no sample saw the service healthy, and some could not see
    it at all: whether it came back is unknown (never a recovery, never "still down")."""
    t0 = _incident_start(tl).value
    if t0 is None:
        return False
    failed = [s.t for s in tl.series if s.failed and s.t >= t0]
    tail = [s for s in tl.series if (s.t > failed[-1] if failed else s.t >= t0)]
    return any(s.unknown for s in tail) and not any(s.ok for s in tail)


def _recovered_at(tl: Timeline) -> _Figure:
    t0 = _incident_start(tl)
    if t0.value is None:
        return t0
    series = tl.series
    if not series:
        return _Figure(None, "recovery not measured: no availability samples in the window")
    # The final streak: healthy samples back from the end to the last failed one. Unknown
    # samples are skipped: they neither confirm the recovery nor break it.
    healthy: list[AvailabilitySample] = []
    tail_unknown = 0
    for sample in reversed(series):
        if sample.failed:
            break
        if sample.ok:
            healthy.append(sample)
        else:
            tail_unknown += 1
    streak = len(healthy)
    if streak < tl.healthy_after:
        last = series[-1].t
        if streak == 0 and tail_unknown:
            return _Figure(
                None,
                f"not recovered: after the last failed sample only unknown samples "
                f"({tail_unknown}, to t={last:.3f}); a recovery no healthy sample confirms "
                "is not a recovery",
            )
        return _Figure(
            None,
            f"not recovered: still failing at the end of the window (t={last:.3f})"
            if streak == 0
            else f"not recovered: the final healthy streak (to t={last:.3f}) has {streak} "
            f"sample(s), fewer than the {tl.healthy_after} a recovery needs",
        )
    start = healthy[-1].t
    if start <= t0.value:
        return _Figure(
            None,
            "recovery not measured: no availability sample failed at or after the incident "
            "start, so there was no outage to recover from",
        )
    return _Figure(start)


def _downtime(tl: Timeline) -> _Figure:
    if not tl.series:
        return _Figure(None, "downtime not measured: no availability samples in the window")
    if tl.unknown_samples == len(tl.series):
        return _Figure(None, f"downtime not measured: {_unknown_why(tl)}")
    return _Figure(sum(d for s, d in zip(tl.series, tl.intervals, strict=True) if s.failed))


def _unknown_time(tl: Timeline) -> float:
    return sum(d for s, d in zip(tl.series, tl.intervals, strict=True) if s.unknown)


def _time_to_detect(tl: Timeline) -> _Figure:
    t0 = _incident_start(tl)
    if t0.value is None:
        return t0
    return _between("time to detect", ("incident start", t0.value), ("trigger", tl.detected))


def _time_to_decide(tl: Timeline) -> _Figure:
    return _between("time to decide", ("trigger", tl.detected), ("rollback decision", tl.decided))


def _time_to_rollback(tl: Timeline) -> _Figure:
    rollback = ("rollback start", tl.rollback_started), ("rollback end", tl.rollback_ended)
    return _between("time to roll back", *rollback)


def _rto(tl: Timeline) -> _Figure:
    t0, back = _incident_start(tl), _recovered_at(tl)
    if t0.value is None:
        return t0
    if back.value is None:
        return back  # its note says why there is no recovery point, hence no RTO
    return _Figure(back.value - t0.value)


def incident_start(tl: Timeline) -> float | None:
    """T0: the earlier of the first fault injected and the first failed sample in the window."""
    return _incident_start(tl).value


def time_to_detect(tl: Timeline) -> float | None:
    """From T0 to the first trigger condition true."""
    return _time_to_detect(tl).value


def time_to_decide(tl: Timeline) -> float | None:
    """From detection to the rollback decision (automatic, or an operator's approval)."""
    return _time_to_decide(tl).value


def time_to_rollback(tl: Timeline) -> float | None:
    """From the start of the rollback steps to their end."""
    return _time_to_rollback(tl).value


def recovered_at(tl: Timeline) -> float | None:
    """The first sample of the final healthy streak, if that streak makes a recovery.

    The final streak is the run of healthy samples that reaches the end of the window
    (unknown samples skipped: they neither count nor break it). It is a recovery when it has
    at least `healthy_after` healthy samples and starts after T0; else None: still failing
    at the end, a streak too short (flapping), only unknown samples after the outage, or no
    outage after T0.
    """
    return _recovered_at(tl).value


def measured_rto(tl: Timeline) -> float | None:
    """From T0 to the recovery point; None without an incident or without a recovery."""
    return _rto(tl).value


def downtime(tl: Timeline) -> float | None:
    """Total unhealthy time: each failed sample counts until the next sample (the last one
    until the window closes). 0.0 when every sample was healthy; None with no samples, or
    when every sample was unknown. Unknown time is not downtime (see `unknown_time`)."""
    return _downtime(tl).value


def unknown_time(tl: Timeline) -> float:
    """Total time the probe could not judge: each unknown sample counts until the next."""
    return _unknown_time(tl)


@dataclass(frozen=True)
class Measurement:
    """All figures of one availability probe's timeline, with the times they came from.

    Times are monotonic seconds; `*_s` figures are durations in seconds. `resolution_s`
    is the longest interval one sample's verdict stood for: each outage edge, hence T0,
    the recovery point and each end of every outage in `downtime_s`, is known only to
    within it. `no_incident` is True when there was nothing to recover from.
    """

    probe: str | None
    samples: int
    window_opens: float | None
    window_closes: float | None
    deploy_started: float | None
    first_fault_injected: float | None
    first_failed_sample: float | None
    incident_start: float | None
    detected: float | None
    decided: float | None
    rollback_started: float | None
    rollback_ended: float | None
    recovered_at: float | None
    time_to_detect_s: float | None
    time_to_decide_s: float | None
    time_to_rollback_s: float | None
    rto_s: float | None
    downtime_s: float | None
    resolution_s: float | None
    no_incident: bool
    notes: tuple[str, ...]
    # Why each figure of this record that is None was not measured, by result.json name.
    reasons: Mapping[str, str] = field(default_factory=dict)
    # Samples that could not judge the service (Prometheus unreachable), and their time.
    unknown_samples: int = 0
    unknown_s: float = 0.0
    # After T0 no sample saw the service healthy and some saw nothing: recovery unknown.
    recovery_unseen: bool = False


def measure(tl: Timeline) -> Measurement:
    """Every figure of the timeline, and a note for each one that could not be measured."""
    t0, back = _incident_start(tl), _recovered_at(tl)
    detect, decide, rollback = _time_to_detect(tl), _time_to_decide(tl), _time_to_rollback(tl)
    rto, down = _rto(tl), _downtime(tl)
    notes = [f.note for f in (t0, detect, decide, rollback, back, rto, down) if f.note]
    gaps = tl.known_intervals
    resolution = max(gaps) if gaps else None
    if resolution is not None and len(tl.intervals) > 1:
        median = statistics.median(tl.intervals)
        if median > 0 and resolution > GAP_FACTOR * median:
            known = [s for s in tl.series if not s.unknown]
            at = known[gaps.index(resolution)].t
            gap = f"the sample at t={at:.3f} stands for {resolution:.3f}s (median {median:.3f}s)"
            notes.append(f"probe gap: {gap}; an outage edge in it is known only to within that")
    unknown_s = _unknown_time(tl)
    if tl.unknown_samples and down.value is not None:
        notes.append(
            f"{_unknown_why(tl)}, {unknown_s:.3f}s in all: that time is neither downtime nor "
            "healthy, and an outage edge in it is known only to within it"
        )
    return Measurement(
        probe=tl.probe,
        samples=len(tl.series),
        window_opens=tl.window_opens,
        window_closes=tl.window_closes,
        deploy_started=tl.deploy_started,
        first_fault_injected=tl.first_fault_injected,
        first_failed_sample=_first_failed(tl),
        incident_start=t0.value,
        detected=tl.detected,
        decided=tl.decided,
        rollback_started=tl.rollback_started,
        rollback_ended=tl.rollback_ended,
        recovered_at=back.value,
        time_to_detect_s=detect.value,
        time_to_decide_s=decide.value,
        time_to_rollback_s=rollback.value,
        rto_s=rto.value,
        downtime_s=down.value,
        resolution_s=resolution,
        no_incident=t0.value is None and not tl.unknown_samples,
        notes=tuple(dict.fromkeys(notes)),
        reasons={
            name: figure.note or "not measured"
            for name, figure in (
                ("time_to_detect_s", detect),
                ("time_to_decide_s", decide),
                ("time_to_rollback_s", rollback),
                ("rto_s", rto),
                ("downtime_s", down),
            )
            if figure.value is None
        },
        unknown_samples=tl.unknown_samples,
        unknown_s=unknown_s,
        recovery_unseen=_recovery_unseen(tl),
    )
