"""The timeline figures: T0, time to detect/decide/roll back, recovery, RTO and downtime."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.measure.recovery import (
    NO_INCIDENT,
    downtime,
    incident_start,
    measure,
    measured_rto,
    recovered_at,
    time_to_decide,
    time_to_detect,
    time_to_rollback,
)
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline

PROBE = "health@web1"


def grid(
    n: int, every: float, healthy: Callable[[float], bool], probe: str = PROBE
) -> tuple[AvailabilitySample, ...]:
    """Samples at 0, every, 2*every, …; `healthy(t)` is the service's true state at t."""
    return tuple(
        AvailabilitySample(probe, k * every, ok, 0.01 if ok else None, "" if ok else "refused")
        for k in range(n)
        for ok in [healthy(k * every)]
    )


def pattern(states: str, every: float = 1.0, start: float = 0.0) -> tuple[AvailabilitySample, ...]:
    """Samples from a string of `+` (healthy) and `-` (failed), one per `every` seconds."""
    return tuple(
        AvailabilitySample(PROBE, start + i * every, c == "+", None) for i, c in enumerate(states)
    )


# The worked example: 100 ms probing for 20 s, the service down from t=10.03 to t=13.02.
OUTAGE = grid(201, 0.1, lambda t: not (10.03 <= t < 13.02))


def test_the_worked_example_measures_every_figure_from_the_samples_and_events() -> None:
    m = measure(
        Timeline(
            OUTAGE,
            deploy_started=5.0,
            detected=10.35,
            decided=10.40,
            rollback_started=10.40,
            rollback_ended=12.90,
            verify_ended=20.0,
        )
    )
    assert m.incident_start == pytest.approx(10.1)  # the first failed sample
    assert m.first_failed_sample == pytest.approx(10.1)
    assert m.time_to_detect_s == pytest.approx(0.25)
    assert m.time_to_decide_s == pytest.approx(0.05)
    assert m.time_to_rollback_s == pytest.approx(2.5)
    assert m.recovered_at == pytest.approx(13.1)  # the first sample of the final healthy streak
    assert m.rto_s == pytest.approx(3.0)
    assert m.downtime_s == pytest.approx(3.0)  # 30 failed samples of 100 ms each
    assert abs(m.downtime_s - 2.99) <= 0.1  # the true outage, within one interval
    assert m.resolution_s == pytest.approx(0.1)
    assert m.samples == 151  # from deploy start (t=5.0) to the end of verify
    assert not m.no_incident
    assert m.notes == ()


def test_a_fault_injected_before_the_first_failed_sample_sets_t0() -> None:
    tl = Timeline(OUTAGE, deploy_started=5.0, first_fault_injected=10.0, verify_ended=20.0)
    assert incident_start(tl) == 10.0
    assert measured_rto(tl) == pytest.approx(3.1)


def test_a_failed_sample_earlier_than_the_fault_sets_t0() -> None:
    tl = Timeline(OUTAGE, deploy_started=5.0, first_fault_injected=11.0, verify_ended=20.0)
    assert incident_start(tl) == pytest.approx(10.1)


def test_failures_before_the_change_began_are_not_part_of_the_incident() -> None:
    samples = pattern("--++++++--++++", every=1.0)  # failing at t=0,1 while being prepared
    tl = Timeline(samples, deploy_started=5.0)
    assert incident_start(tl) == 8.0
    assert downtime(tl) == 2.0
    assert recovered_at(tl) == 10.0


def test_without_a_deploy_or_fault_every_sample_is_evidence() -> None:
    tl = Timeline(pattern("++--+++"))
    assert incident_start(tl) == 2.0
    assert measured_rto(tl) == 2.0


def test_a_service_that_never_failed_had_no_incident_and_no_downtime() -> None:
    m = measure(Timeline(pattern("+" * 50, every=0.1), deploy_started=0.0, detected=None))
    assert m.no_incident
    assert m.incident_start is None
    assert m.rto_s is None
    assert m.time_to_detect_s is None
    assert m.recovered_at is None
    assert m.downtime_s == 0.0
    assert m.notes[0] == NO_INCIDENT


def test_a_fault_without_visible_effect_has_no_recovery_to_time() -> None:
    m = measure(Timeline(pattern("+" * 20), deploy_started=0.0, first_fault_injected=5.5))
    assert m.incident_start == 5.5
    assert not m.no_incident
    assert m.downtime_s == 0.0
    assert m.rto_s is None
    assert any("no outage to recover from" in n for n in m.notes)


def test_no_samples_leaves_downtime_and_recovery_unmeasured() -> None:
    m = measure(Timeline((), deploy_started=0.0, first_fault_injected=1.0, verify_ended=9.0))
    assert m.incident_start == 1.0
    assert m.downtime_s is None
    assert m.recovered_at is None
    assert m.rto_s is None
    assert "downtime not measured: no availability samples in the window" in m.notes


def test_a_service_still_failing_at_the_end_of_verify_did_not_recover() -> None:
    tl = Timeline(pattern("+++-----"), deploy_started=0.0, verify_ended=10.0)
    m = measure(tl)
    assert m.recovered_at is None
    assert m.rto_s is None
    assert m.downtime_s == 7.0  # t=3 … the end of verify at t=10: the last sample stands till then
    assert any(n.startswith("not recovered: still failing") for n in m.notes)


def test_short_healthy_streaks_while_flapping_do_not_count_as_recovery() -> None:
    #                 t: 0123456789…
    tl = Timeline(pattern("++--++-+--++++"), deploy_started=0.0)
    assert incident_start(tl) == 2.0
    assert recovered_at(tl) == 10.0  # not t=4 or t=7: those streaks ended in failures
    assert measured_rto(tl) == 8.0
    assert downtime(tl) == 5.0


def test_a_final_streak_shorter_than_healthy_after_is_not_a_recovery() -> None:
    m = measure(Timeline(pattern("++---++"), deploy_started=0.0, verify_ended=6.0))
    assert m.recovered_at is None
    assert any("has 2 sample(s), fewer than the 3" in n for n in m.notes)
    shorter = Timeline(pattern("++---++"), deploy_started=0.0, verify_ended=6.0, healthy_after=2)
    assert recovered_at(shorter) == 5.0


def test_samples_after_the_end_of_verify_are_not_evidence() -> None:
    tl = Timeline(pattern("++--+++++---"), deploy_started=0.0, verify_ended=8.0)
    assert recovered_at(tl) == 4.0
    assert downtime(tl) == 2.0


def test_without_an_end_of_verify_the_window_closes_at_the_last_sample() -> None:
    tl = Timeline(pattern("++---"), deploy_started=0.0)
    assert downtime(tl) == 2.0  # t=2 and t=3 count 1 s each; the last sample closes the window


def test_samples_are_taken_in_time_order_whatever_order_they_come_in() -> None:
    samples = pattern("++--++++")
    assert recovered_at(Timeline(tuple(reversed(samples)))) == 4.0


def test_one_probe_instance_is_measured_at_a_time() -> None:
    web1 = pattern("++--+++")
    web2 = tuple(AvailabilitySample("health@web2", s.t + 0.5, True, None) for s in web1)
    with pytest.raises(ValueError, match="several probes"):
        Timeline(web1 + web2)
    assert downtime(Timeline(web1 + web2, probe="health@web2")) == 0.0
    assert downtime(Timeline(web1 + web2, probe=PROBE)) == 2.0


def test_events_missing_or_out_of_order_are_not_measured_and_say_why() -> None:
    tl = Timeline(pattern("++--+++"), detected=1.0, decided=None, rollback_started=5.0)
    m = measure(tl)
    assert time_to_detect(tl) is None  # the trigger fired at t=1, before T0 (t=2)
    assert time_to_decide(tl) is None
    assert time_to_rollback(tl) is None
    assert m.notes == (
        "time to detect not measured: the trigger (t=1.000) precedes the incident start",
        "time to decide not measured: no rollback decision was recorded",
        "time to roll back not measured: no rollback end was recorded",
    )


def test_a_gap_in_probing_is_reported_as_the_resolution_of_the_figures() -> None:
    samples = pattern("+++-") + pattern("++++", start=10.0)  # no sample from t=3 to t=10
    m = measure(Timeline(samples, deploy_started=0.0))
    assert m.resolution_s == 7.0
    assert m.downtime_s == 7.0
    assert any(n.startswith("probe gap: the sample at t=3.000 stands for 7.000s") for n in m.notes)


def test_healthy_after_must_be_positive() -> None:
    with pytest.raises(ValueError, match="healthy_after"):
        Timeline((), healthy_after=0)


# An outage at least one interval long contains a sample, so the probe sees it; at exactly
# one interval, float rounding can put both its ends between the same two samples (start
# 1.0000000000000002 intervals, length 1.0: no sample failed, and the figures are rightly
# "not measured"). A thousandth of an interval more keeps a sample inside.
OUTAGE_UNITS = st.floats(1.001, 80.0)


@settings(max_examples=100, deadline=None)
@given(
    every=st.sampled_from([0.05, 0.1, 0.2, 0.25, 1.0]),
    start_units=st.floats(1.0, 100.0),
    length_units=OUTAGE_UNITS,
)
def test_downtime_and_rto_are_within_one_sample_interval_of_a_true_outage(
    every: float, start_units: float, length_units: float
) -> None:
    a = start_units * every
    b = a + length_units * every
    tl = Timeline(grid(200, every, lambda t: not (a <= t < b)), deploy_started=0.0)
    m = measure(tl)
    assert m.downtime_s is not None and abs(m.downtime_s - (b - a)) <= every + 1e-9
    assert m.rto_s is not None and abs(m.rto_s - (b - a)) <= every + 1e-9
    assert m.resolution_s == pytest.approx(every)


@settings(max_examples=100, deadline=None)
@given(
    every=st.sampled_from([0.05, 0.1, 0.2, 0.25, 1.0]),
    start_units=st.floats(1.0, 100.0),
    length_units=OUTAGE_UNITS,
)
def test_with_the_fault_time_known_the_rto_is_late_by_less_than_one_interval(
    every: float, start_units: float, length_units: float
) -> None:
    a = start_units * every
    b = a + length_units * every
    tl = Timeline(
        grid(200, every, lambda t: not (a <= t < b)), deploy_started=0.0, first_fault_injected=a
    )
    rto = measured_rto(tl)
    assert rto is not None and -1e-9 <= rto - (b - a) < every + 1e-9


def test_an_outage_between_two_samples_is_not_measured_never_zero() -> None:
    # The rounding case above: the fault's outage ends before the next sample is taken.
    every = 0.25
    a = 1.0000000000000002 * every
    b = a + every
    tl = Timeline(
        grid(200, every, lambda t: not (a <= t < b)), deploy_started=0.0, first_fault_injected=a
    )
    m = measure(tl)
    assert measured_rto(tl) is None and m.rto_s is None
    assert "there was no outage to recover from" in m.reasons["rto_s"]
    assert m.downtime_s == 0.0  # no sample failed: the probe saw no downtime, and says so
