"""The drill's time to detect over several availability instances (from the first evidence
of the incident on any of them, unless one could not see), and which instance stands for
the service when none recovered."""

from __future__ import annotations

from runner.measure.figures import measure_drill
from runner.measure.probes import ProbeLog
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline


def healthy(probe: str, *ts: float) -> list[AvailabilitySample]:
    return [AvailabilitySample(probe, t, True, 0.01) for t in ts]


def failed(probe: str, *ts: float) -> list[AvailabilitySample]:
    return [AvailabilitySample(probe, t, False, None, "refused") for t in ts]


def unknown(probe: str, *ts: float) -> list[AvailabilitySample]:
    return [AvailabilitySample(probe, t, False, None, "prometheus down", unknown=True) for t in ts]


def times(detected: float) -> Timeline:
    return Timeline(
        deploy_started=0.5,
        detected=detected,
        decided=detected,
        rollback_started=detected,
        rollback_ended=detected + 0.5,
        verify_ended=6.0,
    )


def recovered(probe: str, first_failure: float) -> list[AvailabilitySample]:
    """Healthy, failed from `first_failure` for a second, then healthy to the end."""
    return (
        healthy(probe, 1.0)
        + failed(probe, first_failure, first_failure + 0.5)
        + healthy(probe, first_failure + 1.0, 4.5, 5.0, 5.5, 6.0)
    )


def test_time_to_detect_runs_from_the_first_evidence_on_any_instance() -> None:
    # web1 (named first) fails at 3.0, web2 at 2.0; the trigger at 3.5 came 1.5 s after
    # the incident's first evidence, whichever instance is reported as the worst.
    log = ProbeLog(availability=recovered("up@web1", 3.0) + recovered("up@web2", 2.0))
    measured = measure_drill(log, times(3.5)).as_result()
    assert measured["time_to_detect_s"] == 1.5
    assert "time_to_detect_s" not in measured["reasons"]


def test_a_trigger_before_the_first_evidence_names_the_instance_that_saw_it_first() -> None:
    log = ProbeLog(availability=recovered("up@web1", 3.0) + recovered("up@web2", 2.0))
    measured = measure_drill(log, times(1.75)).as_result()
    assert measured["time_to_detect_s"] is None
    assert measured["reasons"]["time_to_detect_s"] == (
        "time to detect not measured: the trigger (t=1.750) precedes the first evidence of "
        "the incident on any probe (up@web2, t=2.000)"
    )


def test_while_an_instance_could_not_see_time_to_detect_is_not_measured() -> None:
    # web2 saw an outage from 2.0, but web1 saw nothing at all: an earlier start may have
    # gone unseen there, so the drill has no time to detect, and says why.
    log = ProbeLog(
        availability=unknown("up@web1", 1.0, 2.0, 3.0, 4.0, 5.0) + recovered("up@web2", 2.0)
    )
    measured = measure_drill(log, times(3.5)).as_result()
    assert measured["time_to_detect_s"] is None
    assert measured["reasons"]["time_to_detect_s"] == (
        "up@web1: incident start not measured: no fault and no failed sample, but 5 of 5 "
        "sample(s) in the window were unknown (last: prometheus down): an outage in them "
        "could not have been seen"
    )


def test_of_instances_that_never_recovered_the_one_down_longest_is_reported() -> None:
    # No end of verify: the window closes at the last sample, so web1's one failure, its
    # last sample, stands for no time at all; web2 was down for half a second.
    tl = Timeline(deploy_started=0.5, detected=1.75)
    log = ProbeLog(
        availability=healthy("up@web1", 1.0, 1.5)
        + failed("up@web1", 2.0)
        + healthy("up@web2", 1.0)
        + failed("up@web2", 1.5, 2.0)
    )
    measured = measure_drill(log, tl).as_result()
    assert measured["downtime_s"] == 0.5
    assert measured["rto_s"] is None
    assert measured["reasons"]["rto_s"].startswith("up@web2: not recovered: ")
