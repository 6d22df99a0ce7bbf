"""A drill's recovery figures: the probe log and the drill's own timeline, measured.

With several availability probe instances, each is measured on its own and the worst
figure is reported (the longest RTO and downtime): a rollback is only as good as the
slowest host's recovery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from runner.measure.baseline import BaselineComparison, compare_to_baseline, latencies
from runner.measure.probes import ProbeLog
from runner.measure.recovery import Measurement, measure
from runner.measure.rpo import DataLoss, data_loss
from runner.measure.samples import AvailabilitySample
from runner.measure.specs import DEFAULT_HEALTHY_AFTER
from runner.measure.timeline import Timeline

NO_AVAILABILITY_PROBE = "not measured: the playbook has no availability probe (http, tcp, command)"
NO_DATA_PROBE = "not measured: the playbook has no data probe"
NO_PROBES = "not measured: the playbook has no probes"
AVAILABILITY_FIGURES = ("time_to_detect_s", "rto_s", "downtime_s", "resolution_s")


@dataclass(frozen=True)
class DrillFigures:
    availability: tuple[Measurement, ...] = ()
    data: tuple[DataLoss, ...] = ()
    baseline: tuple[tuple[str, BaselineComparison], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    # Per availability probe instance: (start, end, ok) runs of equal verdicts, monotonic;
    # ok is None for a run of unknown samples.
    strips: tuple[tuple[str, tuple[tuple[float, float, bool | None], ...]], ...] = ()
    # The drill's own times: what can be measured without samples (decide, roll back).
    times: Timeline | None = None

    def worst(self) -> Measurement | None:
        """The instance that stands for the service: one that failed and did not recover
        (its RTO is unknown, so no other instance's RTO may stand in for it), else
        the one with the longest RTO (then downtime). A rollback is only as good as the
        slowest host's recovery."""
        if not self.availability:
            return None

        def rank(m: Measurement) -> tuple[int, float, float]:
            # One that could not see whether it had an outage (unknown samples, no T0) has
            # an unknown RTO too: no other instance's RTO may stand in for it either.
            blind = (m.incident_start is None and not m.no_incident) or m.recovery_unseen
            recovered = m.rto_s is not None
            level = 3 if unrecovered_instance(m) else 2 if blind else 1 if recovered else 0
            return level, m.rto_s or 0.0, m.downtime_s or 0.0

        return max(self.availability, key=rank)

    def as_result(self) -> dict[str, Any]:
        """The `measured` block of result.json: the figures, and `reasons`, which says for
        each figure that is null why it was not measured."""
        m = self.worst()
        if m is None:
            own = measure(self.times) if self.times is not None else None
            timing = {
                "time_to_decide_s": own.time_to_decide_s if own else None,
                "time_to_rollback_s": own.time_to_rollback_s if own else None,
            }
            reasons = dict(own.reasons) if own else {}
            if own is None:
                for name in timing:
                    reasons[name] = "the drill recorded no timeline to measure it from"
            figures: dict[str, Any] = {**dict.fromkeys(AVAILABILITY_FIGURES), **timing}
            reasons.update(dict.fromkeys(AVAILABILITY_FIGURES, NO_AVAILABILITY_PROBE))
        else:
            figures = {
                "time_to_detect_s": m.time_to_detect_s,
                "time_to_decide_s": m.time_to_decide_s,
                "time_to_rollback_s": m.time_to_rollback_s,
                "rto_s": m.rto_s,
                "downtime_s": m.downtime_s,
                "resolution_s": m.resolution_s,
            }
            reasons = {k: f"{m.probe}: {v}" for k, v in m.reasons.items()}
            figures["time_to_detect_s"], why = drill_detection(self.availability, m)
            reasons.pop("time_to_detect_s", None)
            if why is not None:
                reasons["time_to_detect_s"] = why
            if m.resolution_s is None:
                reasons["resolution_s"] = f"{m.probe}: " + (
                    "every sample in the window was unknown"
                    if m.samples and m.unknown_samples == m.samples
                    else "no availability samples in the window"
                )
        figures.update(self._data(reasons))
        ordered = (
            "time_to_detect_s",
            "time_to_decide_s",
            "time_to_rollback_s",
            "rto_s",
            "downtime_s",
            "lost_writes",
            "rpo_s",
            "resolution_s",
        )
        result: dict[str, Any] = {
            k: figures[k] if k == "lost_writes" else _r(figures[k]) for k in ordered
        }
        result["rpo_lower_bound"] = figures["rpo_lower_bound"]
        result["reasons"] = {k: reasons[k] for k in ordered if result[k] is None and k in reasons}
        return result

    def _data(self, reasons: dict[str, str]) -> dict[str, Any]:
        """lost_writes (summed), rpo_s (the worst) over the data probes; None when any
        probe's figure is None, since the sum or worst of the others would understate it."""
        if not self.data:
            reasons.update(lost_writes=NO_DATA_PROBE, rpo_s=NO_DATA_PROBE)
            return {"lost_writes": None, "rpo_s": None, "rpo_lower_bound": None}
        lost = [d.lost_writes for d in self.data]
        rpos = [d.rpo_s for d in self.data]
        for d in self.data:
            for name, why in d.reasons.items():
                reasons.setdefault(name, why)
        known_lost = [x for x in lost if x is not None]
        known_rpo = [x for x in rpos if x is not None]
        worst = max(self.data, key=lambda d: d.rpo_s or 0.0)
        return {
            "lost_writes": sum(known_lost) if len(known_lost) == len(lost) else None,
            "rpo_s": max(known_rpo) if len(known_rpo) == len(rpos) else None,
            "rpo_lower_bound": worst.rpo_lower_bound if len(known_rpo) == len(rpos) else None,
        }


def drill_detection(
    instances: tuple[Measurement, ...], worst: Measurement
) -> tuple[float | None, str | None]:
    """Time to detect for the drill, and why it is None when it is: from T0, the first
    evidence of the incident on any instance (a fault injected, a failed sample), to the
    trigger. The trigger is one event of the drill, and the first instance to see the
    outage dates it, not the worst one: a slower probe can see it after an alert fired.
    While an instance could not see (unknown samples and no T0), an earlier start may have
    gone unseen, so the worst instance's own figure and reason stand."""
    blind = any(m.incident_start is None and not m.no_incident for m in instances)
    starts = [(m.incident_start, m.probe) for m in instances if m.incident_start is not None]
    if blind or not starts or worst.detected is None:
        why = worst.reasons.get("time_to_detect_s")
        return worst.time_to_detect_s, None if why is None else f"{worst.probe}: {why}"
    t0, probe = min(starts, key=lambda s: s[0])
    if worst.detected < t0:
        return None, (
            f"time to detect not measured: the trigger (t={worst.detected:.3f}) precedes the "
            f"first evidence of the incident on any probe ({probe}, t={t0:.3f})"
        )
    return worst.detected - t0, None


def unrecovered_instance(m: Measurement) -> bool:
    """The instance failed in the window and no lasting recovery followed. (One that never
    failed, even after a fault on another host, had no outage: its RTO does not apply.)"""
    return m.first_failed_sample is not None and m.recovered_at is None


def measured_without_probes(decide_s: float | None, rollback_s: float | None) -> dict[str, Any]:
    """The `measured` block of a drill without probes: only the drill's own times."""
    result: dict[str, Any] = {
        "time_to_detect_s": None,
        "time_to_decide_s": _r(decide_s),
        "time_to_rollback_s": _r(rollback_s),
        "rto_s": None,
        "downtime_s": None,
        "lost_writes": None,
        "rpo_s": None,
        "resolution_s": None,
        "rpo_lower_bound": None,
    }
    result["reasons"] = {
        k: NO_PROBES for k, v in result.items() if v is None and k != "rpo_lower_bound"
    }
    if rollback_s is None:
        result["reasons"]["time_to_rollback_s"] = "not measured: no rollback ran"
    if decide_s is None:
        result["reasons"]["time_to_decide_s"] = (
            "not measured: no trigger and decision were recorded"
        )
    return result


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def measure_drill(
    log: ProbeLog, times: Timeline, healthy_after: Mapping[str, int] | None = None
) -> DrillFigures:
    """Measure every probe instance against the drill's own times (`times`, without samples).

    Writes are judged from the window's opening on (`Timeline.window_opens`): what prepare
    did before it, to bring the baseline, is not data loss.
    """
    healthy_after = healthy_after or {}
    labels = sorted({s.probe for s in log.availability})
    availability = tuple(
        measure(
            replace(
                times,
                samples=tuple(s for s in log.availability if s.probe == label),
                probe=label,
                healthy_after=healthy_after.get(label.split("@", 1)[0], DEFAULT_HEALTHY_AFTER),
            )
        )
        for label in labels
    )
    data = tuple(
        data_loss(
            [w for w in log.writes if w.probe == read.probe], read, window_opens=times.window_opens
        )
        for read in log.reads
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
    return DrillFigures(availability, data, tuple(baseline), strips=strips, times=times)


def _runs(samples: list[AvailabilitySample]) -> tuple[tuple[float, float, bool | None], ...]:
    """Consecutive samples with the same verdict (healthy, unhealthy, unknown: None),
    merged; each sample stands until the next."""
    ordered = sorted(samples, key=lambda s: s.t)
    runs: list[list[Any]] = []
    for i, sample in enumerate(ordered):
        end = ordered[i + 1].t if i + 1 < len(ordered) else sample.t
        if runs and runs[-1][2] is sample.verdict:
            runs[-1][1] = end
        else:
            runs.append([sample.t, end, sample.verdict])
    return tuple((float(a), float(b), ok) for a, b, ok in runs)


def blind_instances(figures: DrillFigures) -> list[Measurement]:
    """Availability instances that saw nothing: every sample in their window was unknown."""
    return [m for m in figures.availability if m.samples and m.unknown_samples == m.samples]


def unseen_recoveries(figures: DrillFigures) -> list[Measurement]:
    """Instances that saw the incident but, after it, only unknown samples: no healthy
    sample shows the service back, so nothing proves the rollback restored it."""
    return [m for m in figures.availability if m.recovery_unseen]


def availability_block(figures: DrillFigures, started_mono: float) -> list[dict[str, Any]]:
    """The availability strips as offsets from the run's start, for the report's timeline;
    a run's verdict is true (healthy), false (unhealthy) or null (unknown). `unknown_samples`
    and `unknown_s` count the unknown ones in the measured window."""
    measured = {m.probe: m for m in figures.availability}
    return [
        {
            "probe": label,
            "runs": [
                [round(a - started_mono, 3), round(b - started_mono, 3), ok] for a, b, ok in runs
            ],
            "unknown_samples": measured[label].unknown_samples if label in measured else 0,
            "unknown_s": round(measured[label].unknown_s, 3) if label in measured else 0.0,
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
    """Per data probe: the write classes (null, like the figures, when the read-back failed:
    no write was judged, so none is stable, lost or failed), and why."""
    return [
        {
            "probe": d.probe,
            **{
                name: len(getattr(d, name)) if d.judged else None
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
            "lost_seqs": list(d.lost[:100]) if d.judged else None,
            "lost_writes": d.lost_writes,
            "rpo_s": _r(d.rpo_s),
            "rpo_lower_bound": d.rpo_lower_bound,
            "notes": list(d.notes),
            "reasons": dict(d.reasons),
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
