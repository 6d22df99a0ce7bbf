"""The notes a recovery figure carries when it is null or uncertain, word for word, and when a
recovery counts as unseen. A null figure's note is the only evidence of why it is null.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from runner.measure.recovery import measure
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline

PROBE = "up@a"


def ok(t: float) -> AvailabilitySample:
    return AvailabilitySample(PROBE, t, True, 0.01)


def failed(t: float) -> AvailabilitySample:
    return AvailabilitySample(PROBE, t, False, None, "connection refused")


def unknown(t: float, error: str = "prometheus: timed out") -> AvailabilitySample:
    return AvailabilitySample(PROBE, t, False, None, error, unknown=True)


def timeline(*samples: AvailabilitySample, fault: float | None = None) -> Timeline:
    return Timeline(
        samples=samples, deploy_started=0.0, first_fault_injected=fault, verify_ended=2.0
    )


def test_a_blind_window_without_a_fault_gives_no_incident_start_and_says_why() -> None:
    m = measure(timeline(ok(0.0), unknown(0.5), unknown(1.0, ""), ok(1.5)))
    assert m.incident_start is None and not m.no_incident
    assert m.reasons["rto_s"] == (
        "incident start not measured: no fault and no failed sample, but 2 of 4 sample(s) in "
        "the window were unknown (last: prometheus: timed out): an outage in them could not "
        "have been seen"
    )


def test_the_last_unknown_samples_error_is_quoted_not_a_later_failures() -> None:
    m = measure(timeline(ok(0.0), unknown(0.5), failed(1.0), ok(1.5), ok(1.6), ok(1.7)))
    assert m.notes[-1] == (
        "1 of 6 sample(s) in the window were unknown (last: prometheus: timed out), 0.500s in "
        "all: that time is neither downtime nor healthy, and an outage edge in it is known only "
        "to within it"
    )


def test_unknown_samples_without_an_error_are_counted_without_a_quote() -> None:
    m = measure(timeline(ok(0.0), unknown(0.5, ""), ok(1.0)))
    assert m.reasons["rto_s"] == (
        "incident start not measured: no fault and no failed sample, but 1 of 3 sample(s) in "
        "the window were unknown: an outage in them could not have been seen"
    )


def test_only_unknown_samples_after_a_failure_are_counted_and_are_no_recovery() -> None:
    m = measure(timeline(ok(0.0), failed(0.5), unknown(1.0), unknown(1.25), unknown(1.5)))
    assert m.recovered_at is None and m.recovery_unseen
    assert m.reasons["rto_s"] == (
        "not recovered: after the last failed sample only unknown samples (3, to t=1.500); "
        "a recovery no healthy sample confirms is not a recovery"
    )


def test_a_recovery_is_unseen_when_only_unknown_samples_follow_the_last_failure() -> None:
    # A healthy sample between two failures does not show the service back.
    m = measure(timeline(ok(0.0), failed(0.5), ok(0.75), failed(1.0), unknown(1.25)))
    assert m.recovery_unseen
    back = measure(timeline(ok(0.0), failed(0.5), unknown(1.0), ok(1.25)))
    assert not back.recovery_unseen


def test_a_healthy_sample_at_the_fault_itself_counts_as_seen() -> None:
    # The fault lands at 0.5 and no sample fails: the sample taken at 0.5 saw it healthy.
    seen = measure(timeline(ok(0.0), ok(0.5), unknown(1.0), fault=0.5))
    assert not seen.recovery_unseen
    unseen = measure(timeline(ok(0.0), ok(0.25), unknown(1.0), fault=0.5))
    assert unseen.recovery_unseen


def test_a_drill_time_not_recorded_is_null_with_its_reason() -> None:
    m = measure(timeline(ok(0.0), ok(1.0)))
    assert m.time_to_rollback_s is None
    assert m.reasons["time_to_rollback_s"] == (
        "time to roll back not measured: no rollback start was recorded"
    )
