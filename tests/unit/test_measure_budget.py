"""Budgets: the worst-case detection time of each trigger, and the RTO budget overrun."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.measure.budget import (
    budget_overrun,
    check_spacing,
    detection_worst_case,
    worst_case_recovery,
)
from runner.measure.samples import AvailabilitySample
from runner.measure.specs import ProbeSpec, TriggerRule
from runner.measure.triggers import Fired, TriggerWatch

HEALTH = ProbeSpec("health", every_s=0.1, timeout_s=0.5)  # the README tour's probe


def failures(n: int, probe: str = "health") -> TriggerRule:
    return TriggerRule("consecutive_failures", probe, consecutive_failures=n)


@pytest.mark.parametrize(
    ("every", "timeout", "n", "worst"),
    [
        (0.1, 0.5, 3, 1.8),  # hung checks 0.6 s apart: 0.1 + 2 * 0.6 + 0.5 = 3 * (0.1 + 0.5)
        (1.0, 0.2, 3, 3.2),  # checks end before the next is due: 3 * 1.0 + 0.2
        (0.2, 0.3, 3, 1.3),  # one slot skipped per hung check: 0.2 + 2 * 0.4 + 0.3
        (0.1, 0.5, 1, 0.6),  # one failure: the next check, and its timeout
    ],
)
def test_consecutive_failures_worst_case(
    every: float, timeout: float, n: int, worst: float
) -> None:
    probe = ProbeSpec("health", every, timeout)
    result = detection_worst_case(failures(n), [probe])
    assert result == pytest.approx(worst)
    assert result is not None and result <= n * (every + timeout) + 1e-9


def test_hung_checks_are_spaced_by_the_slots_they_make_the_probe_skip() -> None:
    assert check_spacing(ProbeSpec("p", 0.1, 0.5)) == pytest.approx(0.6)
    assert check_spacing(ProbeSpec("p", 0.1, 0.3)) == pytest.approx(0.4)  # 0.3/0.1 is 3, not 2.99…
    assert check_spacing(ProbeSpec("p", 1.0, 0.2)) == pytest.approx(1.0)


def test_error_rate_over_a_window_worst_case() -> None:
    rate = TriggerRule("error_rate", "health", error_rate=0.2, window_s=5.0)
    # Failing checks go out 0.1 + 0.6 j after the last healthy one; the first one that is
    # at least 5 s after it (j = 9, t = 5.5, for any fault in the first 0.1 s) ends 0.5 s later.
    assert detection_worst_case(rate, [HEALTH]) == pytest.approx(6.0)


def test_a_window_trigger_on_a_fast_probe_costs_window_plus_one_interval_plus_timeout() -> None:
    rate = TriggerRule("error_rate", "health", error_rate=0.5, window_s=10.0)
    assert detection_worst_case(rate, [ProbeSpec("health", 1.0, 0.2)]) == pytest.approx(11.2)
    latency = TriggerRule("latency", "health", window_s=10.0, latency_p=99, above_s=0.1)
    assert detection_worst_case(latency, [ProbeSpec("health", 1.0, 0.2)]) == pytest.approx(11.2)


def test_an_error_rate_of_one_or_more_can_never_fire() -> None:
    rate = TriggerRule("error_rate", "health", error_rate=1.0, window_s=5.0)
    assert detection_worst_case(rate, [HEALTH]) is None


def test_a_step_failure_is_detected_by_the_steps_timeout_if_it_has_one() -> None:
    assert detection_worst_case(TriggerRule("step_failed", step_timeout_s=30.0), []) == 30.0
    assert detection_worst_case(TriggerRule("step_failed"), []) is None


def test_a_trigger_on_an_unknown_probe_has_no_bound() -> None:
    assert detection_worst_case(failures(3, probe="ledger"), [HEALTH]) is None


def test_malformed_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown trigger kind"):
        TriggerRule("latency_p")
    with pytest.raises(ValueError, match="at least 1"):
        failures(0)
    with pytest.raises(ValueError, match="window > 0"):
        TriggerRule("error_rate", "health", error_rate=0.2)
    with pytest.raises(ValueError, match="must be > 0"):
        ProbeSpec("health", 0.0, 0.5)


def test_the_worst_case_recovery_adds_detection_decision_and_step_timeouts() -> None:
    assert worst_case_recovery(1.8, [60.0, 30.0], [20.0]) == pytest.approx(111.8)
    assert worst_case_recovery(1.8, [60.0], [20.0], decision_s=900.0) == pytest.approx(981.8)
    assert worst_case_recovery(1.8, [60.0, None], [20.0]) is None  # a step without a timeout
    assert worst_case_recovery(None, [60.0], [20.0]) is None


def test_budget_overrun_is_the_seconds_past_the_objective() -> None:
    assert budget_overrun(300.0, 1.8, [240.0, 60.0], [30.0]) == pytest.approx(31.8)
    assert budget_overrun(300.0, 1.8, [200.0], [30.0]) is None  # fits
    assert budget_overrun(300.0, 1.8, [None], [30.0]) is None  # unknown
    assert budget_overrun(None, 1.8, [240.0], [30.0]) is None  # no objective


# --- checked against the scheduler of runner.measure.probes and the real TriggerWatch -------

DELTA = 1e-6  # how long a healthy check, or a hung check beyond its timeout, takes


def checks(probe: ProbeSpec, fault: float) -> Iterator[tuple[float, float, bool]]:
    """(sent, done, failing) of each check, scheduled as `ProbeRunner._loop` does it.

    Checks are due at k * every, and slots that fall due while a check runs are skipped.
    The check at t=0 is healthy; every check sent at or after `fault` hangs for the timeout.
    """
    k, sent = 0, 0.0
    while True:
        failing = sent >= fault
        done = sent + (probe.timeout_s if failing else 0.0) + DELTA
        yield sent, done, failing
        k += 1
        if k * probe.every_s < done:
            k = int(done / probe.every_s) + 1
        sent = k * probe.every_s


def simulated_detection(probe: ProbeSpec, rule: TriggerRule, fault: float) -> float:
    """Seconds from the fault (the trigger armed at the same moment) to the trigger firing."""
    fired: list[Fired] = []
    watch = TriggerWatch([rule], fired.append)
    watch.arm(fault)
    for sent, done, failing in checks(probe, fault):
        watch.observe(AvailabilitySample("health@web1", sent, not failing, None))
        if fired:
            return done - fault
    raise AssertionError("unreachable: checks() never ends")


def fault_times(probe: ProbeSpec, window_s: float, steps: int = 100) -> list[float]:
    """Fault times over the interval after the healthy check at t=0: an even grid, and the
    times just after which a failing check falls due exactly one window later (where the
    detection time jumps: such a jump can be too narrow for any grid)."""
    grid = [probe.every_s * (i + 0.5) / steps for i in range(steps)]
    jumps = []
    for sent, _, _ in checks(probe, fault=1e-9):
        if sent - window_s >= probe.every_s:
            break
        if sent - window_s >= 0:
            jumps.append(sent - window_s + 1e-7)
    return [1e-7, *grid, *jumps]


@settings(max_examples=60, deadline=None)
@given(
    every_ms=st.integers(50, 1000),
    timeout_ms=st.integers(10, 2000),
    trigger=st.one_of(
        st.builds(failures, st.integers(1, 6)),
        st.builds(
            lambda w, r: TriggerRule("error_rate", "health", error_rate=r, window_s=w / 10),
            st.integers(1, 80),
            st.sampled_from([0.1, 0.5, 0.9]),
        ),
        st.builds(
            lambda w: TriggerRule("latency", "health", window_s=w / 10, latency_p=95, above_s=1),
            st.integers(1, 80),
        ),
    ),
)
def test_the_worst_case_is_the_supremum_over_when_the_fault_starts(
    every_ms: int, timeout_ms: int, trigger: TriggerRule
) -> None:
    probe = ProbeSpec("health", every_ms / 1000, timeout_ms / 1000)
    rule = TriggerRule(**{k: v for k, v in asdict(trigger).items() if k != "step_timeout_s"})
    faults = fault_times(probe, trigger.window_s)
    simulated = max(simulated_detection(probe, rule, f) for f in faults)
    worst = detection_worst_case(trigger, [probe])
    assert worst is not None
    assert simulated <= worst + 2 * DELTA  # never later than the worst case …
    assert worst - simulated <= 2 * DELTA  # … which a fault can come as close to as it likes


@pytest.mark.parametrize(
    ("every", "timeout", "window"),
    [(0.822, 1.994, 7.4), (0.1, 0.5, 5.0), (0.1, 0.5, 5.5), (1.0, 0.2, 10.0), (0.2, 0.3, 0.1)],
)
def test_the_window_worst_case_matches_the_simulation_at_the_edges(
    every: float, timeout: float, window: float
) -> None:
    probe = ProbeSpec("health", every, timeout)
    trigger = TriggerRule("error_rate", "health", error_rate=0.5, window_s=window)
    rule = TriggerRule("error_rate", "health", error_rate=0.5, window_s=window)
    simulated = max(simulated_detection(probe, rule, f) for f in fault_times(probe, window))
    assert simulated == pytest.approx(detection_worst_case(trigger, [probe]), abs=3 * DELTA)
