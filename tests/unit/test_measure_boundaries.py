"""Every threshold rule of runner/measure, on both sides of its boundary (`>` against `>=`).

Each rule is tested at the public function level: a value exactly at the threshold and one
just past it, so that a rule whose comparison is off by one character fails a test.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from runner.engine.outcome import objectives_verdict
from runner.measure.baseline import compare_to_baseline, latencies
from runner.measure.budget import (
    budget_overrun,
    check_spacing,
    detection_worst_case,
    worst_case_recovery,
)
from runner.measure.figures import DrillFigures, baseline_verdict
from runner.measure.recovery import (
    downtime,
    measure,
    measured_rto,
    recovered_at,
    time_to_decide,
    time_to_detect,
)
from runner.measure.rpo import data_loss
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.specs import ProbeSpec, TriggerRule
from runner.measure.timeline import Timeline
from runner.measure.triggers import Fired, TriggerWatch
from runner.playbook.model import Objectives, Playbook
from runner.playbook.probe_loader import load_probes
from runner.yamlpos import YamlDocument

# --- triggers ---------------------------------------------------------------------------


def sample(
    t: float, ok: bool = True, latency: float | None = 0.01, probe: str = "p@h"
) -> AvailabilitySample:
    return AvailabilitySample(probe, t, ok, latency if ok else None)


def feed(
    rule: TriggerRule, samples: list[AvailabilitySample], armed_at: float = 0.0
) -> Fired | None:
    fired: list[Fired] = []
    watch = TriggerWatch([rule], fired.append)
    watch.arm(armed_at)
    for s in samples:
        watch.observe(s)
    assert len(fired) <= 1  # a trigger fires once
    return fired[0] if fired else None


CONSECUTIVE_3 = TriggerRule("consecutive_failures", "p", consecutive_failures=3)


def test_consecutive_failures_fires_at_n_not_at_n_minus_1() -> None:
    two = [sample(1, False), sample(2, False)]
    assert feed(CONSECUTIVE_3, two) is None
    fired = feed(CONSECUTIVE_3, [*two, sample(3, False)])
    assert fired is not None and fired.t == 3 and len(fired.samples) == 3


def test_consecutive_failures_restart_after_a_healthy_sample() -> None:
    broken = [sample(1, False), sample(2, False), sample(3), sample(4, False), sample(5, False)]
    assert feed(CONSECUTIVE_3, broken) is None
    assert feed(CONSECUTIVE_3, [*broken, sample(6, False)]) is not None


def test_a_trigger_judges_samples_from_the_moment_it_is_armed_not_before() -> None:
    at_arming = [sample(10, False), sample(11, False), sample(12, False)]
    assert feed(CONSECUTIVE_3, at_arming, armed_at=10) is not None
    assert feed(CONSECUTIVE_3, at_arming, armed_at=10.5) is None


def test_a_trigger_only_watches_its_own_probe() -> None:
    other = [sample(t, False, probe="q@h") for t in (1, 2, 3)]
    assert feed(CONSECUTIVE_3, other) is None


def error_rate(rate: float, window: float = 4.0) -> TriggerRule:
    return TriggerRule("error_rate", "p", error_rate=rate, window_s=window)


def half_failing(until: float) -> list[AvailabilitySample]:
    """One sample a second from t=1, every other one failing: a 50 % error rate."""
    return [sample(t, ok=t % 2 == 0) for t in range(1, int(until) + 1)]


def test_error_rate_exactly_at_the_threshold_does_not_fire() -> None:
    assert feed(error_rate(0.5), half_failing(8)) is None


def test_error_rate_just_over_the_threshold_fires() -> None:
    fired = feed(error_rate(0.49), half_failing(8))
    assert fired is not None and "measured 50%" in fired.detail


def test_error_rate_is_judged_once_the_window_is_full_not_before() -> None:
    # Armed at 0, window 4 s: the sample at t=4 is the first judged.
    failing = [sample(1, False), sample(2, False), sample(3, False)]
    assert feed(error_rate(0.5), failing) is None
    fired = feed(error_rate(0.5), [*failing, sample(4, False)])
    assert fired is not None and fired.t == 4


def test_error_rate_window_drops_a_sample_exactly_one_window_old() -> None:
    # Armed at 1, window 4 s: first judged at t=5, over the window (1, 5].
    healthy = [sample(t) for t in (2, 3, 4, 5)]
    assert feed(error_rate(0.1), [sample(1, False), *healthy], armed_at=1) is None
    inside = [sample(1), sample(2, False), *(sample(t) for t in (3, 4, 5))]
    fired = feed(error_rate(0.1), inside, armed_at=1)
    assert fired is not None and fired.t == 5 and len(fired.samples) == 4


def latency_rule(p: float, above: float) -> TriggerRule:
    return TriggerRule("latency", "p", window_s=4.0, latency_p=p, above_s=above)


LATENCIES = [sample(t, latency=lat) for t, lat in ((1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4))]


def test_latency_exactly_at_the_threshold_does_not_fire() -> None:
    # p50 of four samples is the second smallest.
    assert feed(latency_rule(50, 0.2), LATENCIES) is None
    assert feed(latency_rule(100, 0.4), LATENCIES) is None


def test_latency_just_over_the_threshold_fires() -> None:
    assert feed(latency_rule(50, 0.19), LATENCIES) is not None
    assert feed(latency_rule(100, 0.39), LATENCIES) is not None


def test_latency_percentile_takes_the_next_sample_just_past_a_rank() -> None:
    # p50 of 4 is rank 2 (0.2), p51 is rank 3 (0.3): nearest rank, rounded up.
    assert feed(latency_rule(51, 0.25), LATENCIES) is not None
    assert feed(latency_rule(50, 0.25), LATENCIES) is None


def test_a_failed_sample_counts_as_an_infinite_latency() -> None:
    samples = [*LATENCIES[:3], sample(4, False)]
    fired = feed(latency_rule(100, 1000.0), samples)
    assert fired is not None and "a failure" in fired.detail


def load_triggers(triggers: list[Any]) -> tuple[TriggerRule, ...]:
    """The rules the playbook loader builds from `triggers:`, on a declared probe `p`."""
    data: dict[str, Any] = {"probes": {"p": {"command": "true"}}, "triggers": triggers}
    _, rules, diags = load_probes(YamlDocument("playbook.yml", data), data)
    assert diags == []
    return rules


def test_loaded_triggers_default_window_and_above() -> None:
    rules = load_triggers(
        [
            "step_failed",
            {"probe": "p", "consecutive_failures": 2},
            {"probe": "p", "error_rate": 0.2},
            {"probe": "p", "latency_p": 99},
        ]
    )
    assert [r.kind for r in rules] == [
        "step_failed",
        "consecutive_failures",
        "error_rate",
        "latency",
    ]
    assert rules[1].consecutive_failures == 2
    assert (rules[2].error_rate, rules[2].window_s) == (0.2, 10.0)
    assert (rules[3].latency_p, rules[3].above_s, rules[3].window_s) == (99.0, 1.0, 10.0)


# --- budget: worst-case detection and the RTO budget -------------------------------------


def test_check_spacing_counts_a_timeout_that_is_a_multiple_of_every_as_a_whole_slot() -> None:
    assert check_spacing(ProbeSpec("p", 1.0, 0.999)) == 1.0  # timeout < every: every
    assert check_spacing(ProbeSpec("p", 1.0, 1.0)) == 2.0  # timeout = every: a skipped slot
    assert check_spacing(ProbeSpec("p", 0.1, 0.3)) == pytest.approx(0.4)  # 0.3/0.1 is 3


def test_consecutive_failures_worst_case_detection() -> None:
    probe = ProbeSpec("p", 1.0, 0.5)
    trigger = TriggerRule("consecutive_failures", "p", consecutive_failures=3)
    assert detection_worst_case(trigger, [probe]) == 1.0 + 2 * 1.0 + 0.5


def test_an_error_rate_of_one_never_fires_and_has_no_worst_case() -> None:
    probe = ProbeSpec("p", 1.0, 0.5)
    at_one = TriggerRule("error_rate", "p", error_rate=1.0, window_s=5.0)
    under_one = TriggerRule("error_rate", "p", error_rate=0.999, window_s=5.0)
    assert detection_worst_case(at_one, [probe]) is None
    assert detection_worst_case(under_one, [probe]) is not None


def test_window_worst_case_on_both_sides_of_a_whole_number_of_spacings() -> None:
    # every 1, timeout 0.5 (G = 1): a failing check always falls due just after W.
    probe = ProbeSpec("p", 1.0, 0.5)
    rule = TriggerRule("latency", "p", window_s=3.0, latency_p=99, above_s=1.0)
    assert detection_worst_case(rule, [probe]) == 3.0 + 1.0 + 0.5
    # every 1, timeout 1 (G = 2): at W = 2 a failing check falls due exactly at W, so no
    # fault position lets one just miss it; past W = 2 one can.
    slow = ProbeSpec("p", 1.0, 1.0)
    at = TriggerRule("error_rate", "p", error_rate=0.5, window_s=2.0)
    assert detection_worst_case(at, [slow]) == 1.0 + 1 * 2.0 + 1.0
    past = TriggerRule("error_rate", "p", error_rate=0.5, window_s=2.25)
    assert detection_worst_case(past, [slow]) == 2.25 + 2.0 + 1.0


def test_specs_refuse_values_at_their_lower_bound() -> None:
    with pytest.raises(ValueError):
        ProbeSpec("p", 0.0, 1.0)
    with pytest.raises(ValueError):
        ProbeSpec("p", 1.0, 0.0)
    with pytest.raises(ValueError):
        TriggerRule("consecutive_failures", "p", consecutive_failures=0)
    TriggerRule("consecutive_failures", "p", consecutive_failures=1)
    with pytest.raises(ValueError):
        TriggerRule("error_rate", "p", error_rate=0.5, window_s=0.0)


def test_worst_case_recovery_is_unknown_when_any_part_is() -> None:
    assert worst_case_recovery(1.0, [2.0], [3.0], decision_s=4.0) == 10.0
    assert worst_case_recovery(1.0, [2.0, None], [3.0]) is None
    assert worst_case_recovery(None, [2.0], [3.0]) is None


def test_budget_overrun_exactly_at_the_objective_fits_and_just_over_does_not() -> None:
    assert budget_overrun(6.0, 1.0, [2.0], [3.0]) is None  # exactly 6: fits
    assert budget_overrun(5.75, 1.0, [2.0], [3.0]) == 0.25  # 6 against 5.75: over
    assert budget_overrun(None, 1.0, [2.0], [3.0]) is None  # no objective
    assert budget_overrun(1.0, None, [2.0], [3.0]) is None  # unknown worst case


# --- timeline: recovery, RTO, and the figures' edges --------------------------------------


def outage(healthy_tail: int, healthy_after: int = 3) -> Timeline:
    """Healthy at 0, failing at 1 and 2, then `healthy_tail` healthy samples from t=3."""
    samples = [sample(0), sample(1, False), sample(2, False)]
    samples += [sample(3 + i) for i in range(healthy_tail)]
    return Timeline(samples=tuple(samples), healthy_after=healthy_after, detected=1.5, decided=2.0)


def test_recovery_needs_healthy_after_consecutive_samples_not_one_fewer() -> None:
    assert recovered_at(outage(3)) == 3
    assert measured_rto(outage(3)) == 2.0  # T0 is the first failed sample, t=1
    assert recovered_at(outage(2)) is None
    assert measured_rto(outage(2)) is None
    assert any("fewer than the 3" in n for n in measure(outage(2)).notes)


def test_healthy_after_one_is_the_least_and_zero_is_refused() -> None:
    assert recovered_at(outage(1, healthy_after=1)) == 3
    with pytest.raises(ValueError):
        outage(1, healthy_after=0)


def test_a_healthy_streak_that_starts_at_t0_is_no_recovery() -> None:
    samples = (sample(0), sample(1, False), sample(2, False), sample(3), sample(4), sample(5))
    # The fault is injected at t=3, when the final streak starts: no outage after T0.
    assert recovered_at(Timeline(samples=samples, first_fault_injected=3.0)) is None
    # Injected just before the streak: it starts after T0.
    assert recovered_at(Timeline(samples=samples, first_fault_injected=2.75)) == 3


def test_samples_exactly_at_the_window_edges_are_in_it() -> None:
    samples = (sample(1, False), sample(2), sample(3, False))
    inside = Timeline(samples=samples, deploy_started=1.0, verify_ended=3.0)
    assert downtime(inside) == 1.0  # t=1 stands until 2; t=3 until the window closes at 3
    assert len(inside.series) == 3
    narrower = Timeline(samples=samples, deploy_started=1.5, verify_ended=2.5)
    assert len(narrower.series) == 1 and downtime(narrower) == 0.0


def test_times_in_order_give_a_figure_and_equal_times_give_zero() -> None:
    tl = outage(3)
    assert time_to_detect(tl) == 0.5
    assert time_to_decide(tl) == 0.5
    same = Timeline(samples=tl.samples, detected=1.0, decided=1.0)
    assert time_to_detect(same) == 0.0 and time_to_decide(same) == 0.0
    backwards = Timeline(samples=tl.samples, detected=1.0, decided=0.999)
    assert time_to_decide(backwards) is None


def test_a_probe_gap_is_reported_over_three_times_the_median_interval_only() -> None:
    def gap(size: float) -> tuple[str, ...]:
        times = [0.0, 1.0, 2.0, 3.0, 3.0 + size, 4.0 + size, 5.0 + size]
        return measure(Timeline(samples=tuple(sample(t) for t in times))).notes

    assert not any("probe gap" in n for n in gap(3.0))  # exactly 3 times the median
    assert any("probe gap" in n for n in gap(3.25))


# --- RPO ---------------------------------------------------------------------------------


def write(seq: int, t_sent: float, t_ack: float | None) -> WriteAttempt:
    return WriteAttempt("d", seq, t_sent, t_ack, t_ack is not None)


def test_a_write_sent_at_the_read_back_time_is_not_judged() -> None:
    read = ReadBack("d", 10.0, (1,))
    loss = data_loss([write(1, 5.0, 6.0), write(2, 10.0, None), write(3, 9.999, None)], read)
    assert loss.not_judged == (2,)
    assert loss.failed == (3,)


def test_a_write_acked_exactly_at_the_read_back_is_judged_acked_and_just_after_is_unknown() -> None:
    read = ReadBack("d", 10.0, ())
    loss = data_loss([write(1, 5.0, 10.0), write(2, 5.0, 10.25)], read)
    assert loss.lost == (1,)  # acknowledged by the time of the read: lost
    assert loss.failed == (2,)  # acknowledged after it: outcome unknown at the read


def test_rpo_is_measured_from_the_newest_stable_write_acked_before_the_oldest_lost() -> None:
    writes = [write(1, 0.0, 1.0), write(2, 1.0, 2.0), write(3, 2.0, 3.0), write(4, 3.0, 4.0)]
    loss = data_loss(writes, ReadBack("d", 10.0, (1, 2, 4)))
    assert loss.lost == (3,)
    assert (loss.rpo_s, loss.rpo_from, loss.rpo_to, loss.rpo_lower_bound) == (1.0, 2.0, 3.0, False)


def test_a_stable_write_acked_at_the_same_time_as_the_oldest_lost_is_not_before_it() -> None:
    writes = [write(1, 0.0, 2.0), write(2, 0.5, 2.0)]
    loss = data_loss(writes, ReadBack("d", 10.0, (1,)))
    assert loss.lost == (2,)
    assert loss.rpo_lower_bound is True  # nothing acknowledged strictly before seq 2
    assert loss.rpo_s == 1.5  # from seq 2's send time


def test_nothing_lost_is_an_rpo_of_zero_and_nothing_acked_is_unmeasured() -> None:
    assert data_loss([write(1, 0.0, 1.0)], ReadBack("d", 10.0, (1,))).rpo_s == 0.0
    assert data_loss([write(1, 0.0, None)], ReadBack("d", 10.0, ())).rpo_s is None
    duplicated = data_loss([write(1, 0.0, 1.0)], ReadBack("d", 10.0, (1, 1)))
    assert duplicated.duplicated == (1,)
    once = data_loss([write(1, 0.0, 1.0)], ReadBack("d", 10.0, (1,)))
    assert once.duplicated == ()


# --- baseline comparison -----------------------------------------------------------------

BEFORE = [0.100, 0.101, 0.102, 0.103, 0.104, 0.105, 0.106, 0.107]
AFTER = [0.200, 0.201, 0.202, 0.203, 0.204, 0.205, 0.206, 0.207]


def test_baseline_needs_min_samples_on_each_side_and_judges_at_exactly_min_samples() -> None:
    assert compare_to_baseline(BEFORE, AFTER).slower is True  # 8 = MIN_SAMPLES each
    short = compare_to_baseline(BEFORE[:7], AFTER)
    assert short.slower is None and short.p_value is None and short.notes
    assert compare_to_baseline(BEFORE, AFTER[:7]).slower is None


def test_baseline_is_slower_only_when_p_is_strictly_under_alpha() -> None:
    judged = compare_to_baseline(BEFORE, AFTER)
    assert judged.p_value is not None
    assert compare_to_baseline(BEFORE, AFTER, alpha=judged.p_value).slower is False
    above = math.nextafter(judged.p_value, 1.0)
    assert compare_to_baseline(BEFORE, AFTER, alpha=above).slower is True


def test_baseline_is_slower_when_the_ratio_reaches_min_ratio_exactly() -> None:
    judged = compare_to_baseline(BEFORE, AFTER)
    assert judged.ratio is not None
    assert compare_to_baseline(BEFORE, AFTER, min_ratio=judged.ratio).slower is True
    past = math.nextafter(judged.ratio, math.inf)
    assert compare_to_baseline(BEFORE, AFTER, min_ratio=past).slower is False


def test_baseline_refuses_negative_and_infinite_latencies_but_takes_zero() -> None:
    compare_to_baseline([0.0] * 8, AFTER)
    for bad in (-0.001, math.inf, math.nan):
        with pytest.raises(ValueError):
            compare_to_baseline([bad, *BEFORE], AFTER)


def test_a_zero_baseline_median_is_not_judged() -> None:
    zero = compare_to_baseline([0.0] * 8, AFTER)
    assert zero.ratio is None and zero.slower is None


def test_latencies_leave_out_failed_and_unanswered_checks() -> None:
    samples = [sample(1, latency=0.1), sample(2, False), AvailabilitySample("p", 3, True, None)]
    assert latencies(samples) == (0.1,)


def test_baseline_verdict_is_met_only_when_every_probe_is_judged_not_slower() -> None:
    not_slower = compare_to_baseline(BEFORE, BEFORE)
    slower = compare_to_baseline(BEFORE, AFTER)
    unjudged = compare_to_baseline(BEFORE[:2], AFTER)
    assert baseline_verdict(DrillFigures(baseline=(("a", not_slower),))) == "met"
    assert baseline_verdict(DrillFigures(baseline=(("a", not_slower), ("b", slower)))) == "missed"
    assert baseline_verdict(DrillFigures(baseline=(("a", not_slower), ("b", unjudged)))) is None
    assert baseline_verdict(DrillFigures()) is None
    assert baseline_verdict(None) is None


# --- objectives: measured RTO / RPO against the playbook's -------------------------------


def test_a_measured_rto_exactly_at_the_objective_meets_it_and_just_over_misses() -> None:
    figures = DrillFigures(availability=(measure(outage(3)),))  # RTO 2.0 s
    at = Playbook("p", "d", 2, objectives=Objectives(rto_s=2.0))
    under = Playbook("p", "d", 2, objectives=Objectives(rto_s=1.875))
    assert objectives_verdict(at, figures, "ok") == ("passed", "ok")
    status, reason = objectives_verdict(under, figures, "ok")
    assert status == "failed" and "measured RTO 2.00s is over the objective" in reason


def test_budget_overrun_counts_the_decision_time() -> None:
    assert budget_overrun(6.0, 1.0, [2.0], [3.0], decision_s=0.5) == 0.5
    assert budget_overrun(6.0, 1.0, [2.0], [3.0], decision_s=None) is None  # unknown
