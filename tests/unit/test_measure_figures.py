"""A drill's figures from the probe log: per-instance measurements, the worst instance, and
the result.json blocks built from them, checked value by value."""

from __future__ import annotations

from runner.engine.outcome import objectives_verdict
from runner.measure.figures import (
    DrillFigures,
    measure_drill,
)
from runner.measure.probes import ProbeLog
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline
from runner.playbook.model import Objectives, Playbook


def ok(probe: str, t: float, latency: float = 0.1) -> AvailabilitySample:
    return AvailabilitySample(probe, t, True, latency)


def down(probe: str, t: float) -> AvailabilitySample:
    return AvailabilitySample(probe, t, False, None, "refused")


def never_recovers_beside_one_that_does() -> DrillFigures:
    """web@h1 fails from t=15 to the end; web@h2 fails at 15..17 and is back at 18."""
    log = ProbeLog()
    for t in range(10, 41):
        log.availability.append(ok("web@h1", t) if t < 15 else down("web@h1", t))
        log.availability.append(down("web@h2", t) if 15 <= t <= 17 else ok("web@h2", t))
    times = Timeline(deploy_started=10.0, first_fault_injected=15.0, verify_ended=40.0)
    return measure_drill(log, times, {})


def test_an_instance_that_never_recovered_is_the_worst_whatever_the_others_rto() -> None:
    figures = never_recovers_beside_one_that_does()
    worst = figures.worst()
    assert worst is not None and worst.probe == "web@h1"
    assert figures.as_result()["rto_s"] is None  # not measured: web@h1 did not recover


def test_a_drill_with_an_instance_that_never_recovered_does_not_pass() -> None:
    figures = never_recovers_beside_one_that_does()
    playbook = Playbook("p", "d", 2, objectives=Objectives(rto_s=60.0))
    status, reason = objectives_verdict(playbook, figures, "rolled back")
    assert status == "failed"
    assert reason == "no lasting recovery observed by web@h1 after the incident"


def test_of_recovered_instances_the_longest_rto_then_the_longest_downtime_is_the_worst() -> None:
    log = ProbeLog()
    for t in range(0, 12):
        log.availability.append(down("a@h", t) if 2 <= t <= 4 else ok("a@h", t))  # RTO 3
        log.availability.append(down("b@h", t) if t in (2, 5) else ok("b@h", t))  # RTO 4
        log.availability.append(down("c@h", t) if 2 <= t <= 5 else ok("c@h", t))  # RTO 4, longer
    figures = measure_drill(log, Timeline(first_fault_injected=2.0, verify_ended=11.0), {})
    worst = figures.worst()
    assert worst is not None and (worst.probe, worst.rto_s, worst.downtime_s) == ("c@h", 4.0, 4.0)
    assert DrillFigures().worst() is None
