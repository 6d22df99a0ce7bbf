"""A drill's recovery figures: the probe log and the drill's own timeline, measured.

With several availability probe instances, each is measured on its own and the worst
figure is reported (the longest RTO and downtime): a rollback is only as good as the
slowest host's recovery.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from runner.measure.baseline import BaselineComparison, compare_to_baseline, latencies
from runner.measure.probes import ProbeLog
from runner.measure.rpo import DataLoss, data_loss
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Measurement, Timeline, measure


@dataclass(frozen=True)
class DrillFigures:
    availability: tuple[Measurement, ...] = ()
    data: tuple[DataLoss, ...] = ()
    baseline: tuple[tuple[str, BaselineComparison], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Per availability probe instance: (start, end, ok) runs of equal verdicts, monotonic.
    strips: tuple[tuple[str, tuple[tuple[float, float, bool], ...]], ...] = ()

    def worst(self) -> Measurement | None:
        """The instance with the longest RTO (or downtime) stands for the service.

        An instance that failed and never recovered has no RTO, and it is the worst of all:
        a shorter RTO elsewhere must not stand for a host still down. (One that never
        failed has no RTO either, and ranks last: it had nothing to recover from.)
        """
        if not self.availability:
            return None

        def rank(m: Measurement) -> tuple[bool, float, float]:
            unrecovered = m.first_failed_sample is not None and m.recovered_at is None
            return (unrecovered, m.rto_s or 0.0, m.downtime_s or 0.0)

        return max(self.availability, key=rank)

    def as_result(self) -> dict[str, Any]:
        """The `measured` block of result.json, plus the T0 and recovery timestamps."""
        m = self.worst()
        lost = [d.lost_writes for d in self.data]
        rpos = [d.rpo_s for d in self.data]
        return {
            "time_to_detect_s": _r(m.time_to_detect_s) if m else None,
            "time_to_decide_s": _r(m.time_to_decide_s) if m else None,
            "time_to_rollback_s": _r(m.time_to_rollback_s) if m else None,
            "rto_s": _r(m.rto_s) if m else None,
            "downtime_s": _r(m.downtime_s) if m else None,
            "lost_writes": None
            if not lost or None in lost
            else sum(x for x in lost if x is not None),
            "rpo_s": None
            if not rpos or None in rpos
            else _r(max(x for x in rpos if x is not None)),
            "resolution_s": _r(m.resolution_s) if m else None,
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def measure_drill(log: ProbeLog, times: Timeline, healthy_after: dict[str, int]) -> DrillFigures:
    """Measure every probe instance against the drill's own times (`times`, without samples)."""
    labels = sorted({s.probe for s in log.availability})
    availability = tuple(
        measure(
            replace(
                times,
                samples=tuple(s for s in log.availability if s.probe == label),
                probe=label,
                healthy_after=healthy_after.get(label.split("@", 1)[0], 3),
            )
        )
        for label in labels
    )
    data = tuple(
        data_loss([w for w in log.writes if w.probe == read.probe], read) for read in log.reads
    )
    baseline = []
    for label in labels:
        samples = [s for s in log.availability if s.probe == label]
        before = [s for s in samples if times.deploy_started is None or s.t < times.deploy_started]
        after = [
            s
            for s in samples
            if times.rollback_ended is not None
            and s.t >= times.rollback_ended
            and (times.verify_ended is None or s.t <= times.verify_ended)
        ]
        if times.rollback_ended is not None:
            baseline.append((label, compare_to_baseline(latencies(before), latencies(after))))
    strips = tuple(
        (label, _runs([s for s in log.availability if s.probe == label])) for label in labels
    )
    return DrillFigures(availability, data, tuple(baseline), strips=strips)


def _runs(samples: list[AvailabilitySample]) -> tuple[tuple[float, float, bool], ...]:
    """Consecutive samples with the same verdict, merged; each sample stands until the next."""
    ordered = sorted(samples, key=lambda s: s.t)
    runs: list[list[Any]] = []
    for i, sample in enumerate(ordered):
        end = ordered[i + 1].t if i + 1 < len(ordered) else sample.t
        if runs and runs[-1][2] == sample.ok:
            runs[-1][1] = end
        else:
            runs.append([sample.t, end, sample.ok])
    return tuple((float(a), float(b), bool(ok)) for a, b, ok in runs)


def availability_block(figures: DrillFigures, started_mono: float) -> list[dict[str, Any]]:
    """The availability strips as offsets from the run's start, for the report's timeline."""
    return [
        {
            "probe": label,
            "runs": [
                [round(a - started_mono, 3), round(b - started_mono, 3), ok] for a, b, ok in runs
            ],
        }
        for label, runs in figures.strips
    ]


def _wall(start_wall: datetime, start_mono: float, t: float | None) -> str | None:
    if t is None:
        return None
    stamp = start_wall + timedelta(seconds=t - start_mono)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def timeline_block(figures: DrillFigures, started_at: str, started_mono: float) -> dict[str, Any]:
    """T0, detection, decision, rollback and recovery as UTC times (of the worst instance)."""
    m = figures.worst()
    if m is None:
        return {}
    start = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    points = {
        "t0": m.incident_start,
        "detected": m.detected,
        "decided": m.decided,
        "rollback_started": m.rollback_started,
        "rollback_ended": m.rollback_ended,
        "recovered": m.recovered_at,
    }
    block: dict[str, Any] = {k: _wall(start, started_mono, v) for k, v in points.items()}
    block["probe"] = m.probe
    block["no_incident"] = m.no_incident
    block["notes"] = list(m.notes)
    return block


def data_block(figures: DrillFigures) -> list[dict[str, Any]]:
    return [
        {
            "probe": d.probe,
            **{
                name: len(getattr(d, name))
                for name in (
                    "stable",
                    "lost",
                    "recovered",
                    "failed",
                    "duplicated",
                    "unexpected",
                    "not_judged",
                )
            },
            "lost_seqs": list(d.lost[:100]),
            "lost_writes": d.lost_writes,
            "rpo_s": _r(d.rpo_s),
            "rpo_lower_bound": d.rpo_lower_bound,
            "notes": list(d.notes),
        }
        for d in figures.data
    ]


def baseline_block(figures: DrillFigures) -> list[dict[str, Any]]:
    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 3)

    return [
        {
            "probe": label,
            "n_before": b.n_before,
            "n_after": b.n_after,
            "median_before_ms": ms(b.median_before_s),
            "median_after_ms": ms(b.median_after_s),
            "ratio": None if b.ratio is None else round(b.ratio, 3),
            "p_value": b.p_value,
            "slower": b.slower,
        }
        for label, b in figures.baseline
    ]


def baseline_verdict(figures: DrillFigures | None) -> str | None:
    """'met' when every probe is back to baseline, 'missed' when one is measurably slower."""
    if figures is None or not figures.baseline:
        return None
    verdicts = [b.slower for _, b in figures.baseline]
    if any(v is True for v in verdicts):
        return "missed"
    return "met" if all(v is False for v in verdicts) else None
