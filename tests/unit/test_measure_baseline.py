"""Baseline comparison: is the service slower after the rollback than before the change?"""

from __future__ import annotations

import math

import pytest

from runner.measure.baseline import compare_to_baseline, latencies
from runner.measure.samples import AvailabilitySample

BEFORE = [0.010 + 0.001 * i for i in range(10)]  # 10 … 19 ms


def test_twice_as_slow_after_the_rollback_is_flagged() -> None:
    result = compare_to_baseline(BEFORE, [2 * x for x in BEFORE])
    assert result.n_before == result.n_after == 10
    assert result.median_before_s == pytest.approx(0.0145)
    assert result.median_after_s == pytest.approx(0.029)
    assert result.ratio == pytest.approx(2.0)
    assert result.p_value is not None and result.p_value < 0.001
    assert result.slower is True
    assert result.notes == ()


def test_a_significant_but_small_slowdown_is_not_flagged() -> None:
    before = [0.100 + 0.001 * i for i in range(60)]
    result = compare_to_baseline(before, [x + 0.010 for x in before])
    assert result.p_value is not None and result.p_value < 0.01  # significant …
    assert result.ratio is not None and result.ratio < 1.2  # … but under 20 % slower
    assert result.slower is False


def test_a_large_but_not_significant_difference_is_not_flagged() -> None:
    before = [0.01 * i for i in range(1, 9)]
    after = [0.01 * i for i in (1, 2, 3, 5, 6, 8, 9, 10)]
    result = compare_to_baseline(before, after)
    assert result.ratio == pytest.approx(0.055 / 0.045)  # over 1.2 …
    assert result.p_value is not None and result.p_value > 0.01  # … but 8 samples prove little
    assert result.slower is False


def test_faster_after_the_rollback_is_not_slower() -> None:
    result = compare_to_baseline(BEFORE, [x / 2 for x in BEFORE])
    assert result.p_value is not None and result.p_value > 0.99
    assert result.slower is False


def test_identical_latencies_are_not_slower() -> None:
    result = compare_to_baseline([0.02] * 10, [0.02] * 10)
    assert result.ratio == 1.0
    assert result.slower is False


def test_fewer_than_eight_samples_on_a_side_gives_no_verdict_and_says_why() -> None:
    result = compare_to_baseline(BEFORE, [0.05] * 7)
    assert result.slower is None
    assert result.p_value is None
    assert result.median_after_s == 0.05  # what was measured is still reported
    assert result.notes == (
        "not compared: 10 latency sample(s) before and 7 after; "
        "the test needs at least 8 on each side",
    )
    assert compare_to_baseline([], []).median_before_s is None


def test_the_thresholds_can_be_set() -> None:
    before = [0.100 + 0.001 * i for i in range(60)]
    after = [x + 0.010 for x in before]
    assert compare_to_baseline(before, after, min_ratio=1.05).slower is True
    assert compare_to_baseline(before, after, min_ratio=1.05, alpha=0.001).slower is False


def test_latencies_come_from_healthy_answered_samples_only() -> None:
    samples = [
        AvailabilitySample("health@web1", 0.0, True, 0.012),
        AvailabilitySample("health@web1", 0.1, False, 0.5, "HTTP 500"),
        AvailabilitySample("health@web1", 0.2, False, None, "timed out"),
        AvailabilitySample("health@web1", 0.3, True, None),
        AvailabilitySample("health@web1", 0.4, True, 0.015),
    ]
    assert latencies(samples) == (0.012, 0.015)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -0.001])
def test_a_latency_that_is_no_duration_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="finite number of seconds"):
        compare_to_baseline([*BEFORE, bad], BEFORE)
