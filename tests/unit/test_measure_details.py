"""What the measure rules report beside their verdicts: which rule fired on which samples,
every field of a measurement, and the note that says why a figure is null.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from runner.engine.outcome import failure_reason, objectives_verdict
from runner.engine.results import FAILED, OK, HostResult, PhaseResult, StepResult
from runner.measure.baseline import compare_to_baseline
from runner.measure.figures import DrillFigures
from runner.measure.recovery import measure
from runner.measure.rpo import data_loss
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.specs import ProbeSpec, TriggerRule
from runner.measure.timeline import Timeline
from runner.measure.triggers import Fired, TriggerWatch
from runner.playbook.model import Location, Objectives, Playbook, Step
from runner.playbook.probe_loader import load_probes
from runner.yamlpos import YamlDocument


def load(
    probes: dict[str, Any], triggers: list[Any] | None = None
) -> tuple[dict[str, ProbeSpec], tuple[TriggerRule, ...]]:
    """The probes and trigger rules the playbook loader builds, which must load cleanly."""
    data: dict[str, Any] = {"probes": probes, "triggers": triggers or []}
    specs, rules, diags = load_probes(YamlDocument("playbook.yml", data), data)
    assert diags == []
    return specs, rules


def ok(t: float, latency: float | None = 0.1, probe: str = "p@h") -> AvailabilitySample:
    return AvailabilitySample(probe, t, True, latency)


def bad(t: float, latency: float | None = None, probe: str = "p@h") -> AvailabilitySample:
    return AvailabilitySample(probe, t, False, latency, "500")


def watch(
    rules: list[TriggerRule], samples: list[AvailabilitySample], arm: float = 0.0
) -> Fired | None:
    fired: list[Fired] = []
    w = TriggerWatch(rules, fired.append)
    w.arm(arm)
    for s in samples:
        w.observe(s)
    return fired[0] if fired else None


# --- triggers ---------------------------------------------------------------------------


def test_each_rule_describes_itself() -> None:
    assert TriggerRule("consecutive_failures", "p", 3).describe() == "p: 3 consecutive failures"
    assert (
        TriggerRule("error_rate", "p", error_rate=0.25, window_s=10).describe()
        == "p: error rate over 25% in 10s"
    )
    latency = TriggerRule("latency", "p", window_s=5, latency_p=99, above_s=0.5)
    assert latency.describe() == "p: p99 latency above 0.5s in 5s"
    assert TriggerRule("step_failed").describe() == "a step failed"


def test_a_fired_rule_names_itself_the_instance_the_time_and_its_samples() -> None:
    rule = TriggerRule("error_rate", "p", error_rate=0.5, window_s=2.0)
    samples = [bad(1, probe="p@h2"), bad(2, probe="p@h2")]
    fired = watch([rule], samples)
    assert fired == Fired(
        rule,
        "p@h2",
        2,
        "p: error rate over 50% in 2s (measured 100%)",
        (
            samples[0],
            samples[1],
        ),
    )
    lat = TriggerRule("latency", "p", window_s=2.0, latency_p=50, above_s=0.1)
    quick = [ok(1, 0.2), ok(2, 0.3)]
    fired = watch([lat], quick)
    assert fired == Fired(
        lat,
        "p@h",
        2,
        "p: p50 latency above 0.1s in 2s (measured 0.200s)",
        (
            quick[0],
            quick[1],
        ),
    )
    streak = TriggerRule("consecutive_failures", "p", 1)
    assert watch([streak], [bad(3)]) == Fired(
        streak, "p@h", 3, "p: 1 consecutive failures", (bad(3),)
    )


def test_an_answered_failure_and_an_unanswered_success_both_count_as_infinitely_slow() -> None:
    lat = TriggerRule("latency", "p", window_s=2.0, latency_p=100, above_s=10.0)
    assert watch([lat], [ok(1), bad(2, latency=0.01)]) is not None
    assert watch([lat], [ok(1), ok(2, latency=None)]) is not None
    assert watch([lat], [ok(1), ok(2, latency=0.01)]) is None


def test_the_latency_rank_rounds_up_just_past_a_whole_sample() -> None:
    # p25.2 of 4 samples is 1.008 samples: the 2nd smallest, not the 1st.
    lat = TriggerRule("latency", "p", window_s=4.0, latency_p=25.2, above_s=0.15)
    samples = [ok(t, latency) for t, latency in ((1, 0.1), (2, 0.2), (3, 0.3), (4, 0.4))]
    assert watch([lat], samples) is not None


def test_each_probe_instance_keeps_its_own_streak() -> None:
    rule = TriggerRule("consecutive_failures", "p", 3)
    mixed = [bad(1, probe="p@h1"), bad(2, probe="p@h2"), bad(3, probe="p@h1")]
    assert watch([rule], mixed) is None
    assert watch([rule], [*mixed, bad(4, probe="p@h1")]) is not None


def test_a_host_name_with_an_at_sign_still_belongs_to_its_probe() -> None:
    rule = TriggerRule("consecutive_failures", "p", 1)
    assert watch([rule], [bad(1, probe="p@ops@h1")]) is not None


def test_no_sample_is_judged_before_arming_or_after_disarming() -> None:
    fired: list[Fired] = []
    w = TriggerWatch([TriggerRule("consecutive_failures", "p", 1)], fired.append)
    w.observe(bad(1))
    assert fired == []
    w.arm(0.0)
    w.disarm()
    w.observe(bad(2))
    assert fired == [] and w.armed_at is None


def test_a_step_failed_rule_is_not_watched_on_samples() -> None:
    w = TriggerWatch(
        [TriggerRule("step_failed"), TriggerRule("latency", "p", 0, 0, 1, 50, 1)], print
    )
    assert [r.kind for r in w.rules] == ["latency"]


def test_loaded_triggers_read_window_above_and_probe() -> None:
    _, rules = load(
        {name: {"command": "true"} for name in "abc"},
        [
            {"probe": "a", "consecutive_failures": 2},
            {"probe": "b", "error_rate": 0.1, "window": "30s"},
            {"probe": "c", "latency_p": 95, "above": "250ms", "window": "5s"},
        ],
    )
    assert list(rules) == [
        TriggerRule("consecutive_failures", "a", consecutive_failures=2),
        TriggerRule("error_rate", "b", error_rate=0.1, window_s=30.0),
        TriggerRule("latency", "c", window_s=5.0, latency_p=95.0, above_s=0.25),
    ]


def test_a_latency_trigger_spec_needs_a_window_too() -> None:
    with pytest.raises(ValueError, match="a latency trigger needs a window > 0 seconds"):
        TriggerRule("latency", "p", latency_p=99, above_s=1.0, window_s=0.0)
    with pytest.raises(ValueError, match=r"^consecutive_failures must be at least 1$"):
        TriggerRule("consecutive_failures", "p", consecutive_failures=0)


# --- timeline -----------------------------------------------------------------------------


def test_measure_fills_every_field_from_the_timeline() -> None:
    samples = (ok(0), bad(1), bad(2), ok(3), ok(4), ok(5))
    tl = Timeline(
        samples=list(samples),  # type: ignore[arg-type]  # a list is taken as a tuple
        probe="p@h",
        deploy_started=0.5,
        first_fault_injected=0.75,
        detected=1.5,
        decided=1.75,
        rollback_started=2.0,
        rollback_ended=2.5,
        verify_ended=5.5,
    )
    assert tl.samples == samples
    m = measure(tl)
    assert (m.probe, m.samples, m.window_opens, m.window_closes) == ("p@h", 5, 0.5, 5.5)
    assert (m.deploy_started, m.first_fault_injected, m.first_failed_sample) == (0.5, 0.75, 1)
    assert (m.incident_start, m.detected, m.decided) == (0.75, 1.5, 1.75)
    assert (m.rollback_started, m.rollback_ended, m.recovered_at) == (2.0, 2.5, 3)
    assert (m.time_to_detect_s, m.time_to_decide_s, m.time_to_rollback_s) == (0.75, 0.25, 0.5)
    assert (m.rto_s, m.downtime_s, m.resolution_s, m.no_incident) == (2.25, 2.0, 1.0, False)
    assert m.notes == ()


def test_each_missing_figure_says_why_in_its_note() -> None:
    empty = measure(Timeline(first_fault_injected=1.0))
    assert empty.notes == (
        "time to detect not measured: no trigger was recorded",
        "time to decide not measured: no trigger was recorded",
        "time to roll back not measured: no rollback start was recorded",
        "recovery not measured: no availability samples in the window",
        "downtime not measured: no availability samples in the window",
    )
    no_end = measure(Timeline(samples=(bad(1), ok(2)), rollback_started=1.0, detected=1.0))
    assert "time to roll back not measured: no rollback end was recorded" in no_end.notes
    assert "time to decide not measured: no rollback decision was recorded" in no_end.notes


def test_a_service_still_failing_says_when_it_was_last_seen() -> None:
    m = measure(Timeline(samples=(ok(0), bad(1), bad(2.5))))
    assert "not recovered: still failing at the end of the window (t=2.500)" in m.notes
    short = measure(Timeline(samples=(ok(0), bad(1), ok(2), ok(3.5))))
    assert (
        "not recovered: the final healthy streak (to t=3.500) has 2 sample(s), fewer than "
        "the 3 a recovery needs" in short.notes
    )


def test_a_streak_from_before_the_incident_says_there_was_no_outage() -> None:
    m = measure(Timeline(samples=(ok(0), ok(1), ok(2), ok(3)), first_fault_injected=1.0))
    assert m.notes[-1] == (
        "recovery not measured: no availability sample failed at or after the incident "
        "start, so there was no outage to recover from"
    )


def test_a_probe_gap_is_judged_against_the_median_interval_times_three() -> None:
    def notes(times: list[float]) -> tuple[str, ...]:
        return measure(Timeline(samples=tuple(ok(t) for t in times))).notes

    # Half-second sampling: a 2 s gap is over 3 x 0.5 s (and under 3 / 0.5).
    assert any(
        n.startswith("probe gap: the sample at t=1.000 stands for 2.000s")
        for n in notes([0.0, 0.5, 1.0, 3.0, 3.5, 4.0])
    )
    # Samples at one instant have a median interval of 0: no gap can be judged.
    assert not any("probe gap" in n for n in notes([0.0, 0.0, 0.0, 0.0, 5.0]))
    assert measure(Timeline()).resolution_s is None


def test_several_probes_without_a_label_name_them_all() -> None:
    with pytest.raises(ValueError, match=r"^samples of several probes \(a@h, b@h\): name one$"):
        Timeline(samples=(ok(0, probe="b@h"), ok(1, probe="a@h")))


# --- baseline -----------------------------------------------------------------------------

BEFORE = [0.1 + i / 1000 for i in range(8)]


def test_a_comparison_keeps_the_thresholds_it_was_judged_by() -> None:
    judged = compare_to_baseline(BEFORE, [2 * x for x in BEFORE], alpha=0.05, min_ratio=1.5)
    assert (judged.alpha, judged.min_ratio, judged.slower) == (0.05, 1.5, True)


def test_a_zero_baseline_keeps_its_p_value_and_says_why_it_is_not_judged() -> None:
    zero = compare_to_baseline([0.0] * 8, BEFORE)
    assert zero.p_value is not None and zero.p_value < 0.01
    assert zero.notes == ("not judged: the baseline median latency is 0",)


# --- RPO ----------------------------------------------------------------------------------


def w(seq: int, sent: float, ack: float | None, probe: str = "d") -> WriteAttempt:
    return WriteAttempt(probe, seq, sent, ack, ack is not None)


def test_writes_of_other_probes_are_skipped_wherever_they_come() -> None:
    loss = data_loss([w(1, 0, 1, probe="x"), w(1, 0, 1), w(2, 1, 2)], ReadBack("d", 5, (1, 2)))
    assert loss.probe == "d" and loss.stable == (1, 2)


def test_a_failed_read_back_judges_nothing() -> None:
    loss = data_loss([w(1, 0, 1)], ReadBack("d", 5, (), error="timeout"))
    assert (loss.probe, loss.lost_writes, loss.rpo_s, loss.rpo_lower_bound) == (
        "d",
        None,
        None,
        False,
    )
    assert loss.notes == ("data loss not measured: the read-back of d failed: timeout",)


def test_no_writes_and_no_losses_are_not_lower_bounds() -> None:
    none = data_loss([], ReadBack("d", 5, ()))
    assert none.notes == (
        "no write attempts of d to judge",
        "RPO not measured: no write was acknowledged before the read-back",
    )
    assert none.rpo_lower_bound is False
    assert data_loss([w(1, 0, 1)], ReadBack("d", 5, (1,))).rpo_lower_bound is False


def test_the_oldest_lost_write_is_the_first_acknowledged_not_the_lowest_number() -> None:
    # seq 5 was acknowledged first (t=1), seq 3 later (t=4); seq 4 (t=3) survived.
    loss = data_loss([w(5, 0.5, 1.0), w(4, 2.5, 3.0), w(3, 3.5, 4.0)], ReadBack("d", 9, (4,)))
    assert loss.lost == (3, 5)
    assert (loss.rpo_s, loss.rpo_from, loss.rpo_lower_bound) == (3.5, 0.5, True)


# --- outcome ------------------------------------------------------------------------------

STEP = Step("verify", 0, "health", "shell", "ok", Location("p.yml", 1, 1))


def test_a_failure_reason_names_the_step_the_host_and_its_message() -> None:
    failed = StepResult(STEP, (HostResult("h1", OK), HostResult("h2", FAILED, "rc 1")), "", 0, 0)
    phase = PhaseResult("verify", (failed,), "", 0.0, 0.0)
    assert failure_reason("verify failed", phase) == "verify failed: step 'health' on h2: rc 1"
    assert failure_reason("verify failed", None) == "verify failed"
    passed = PhaseResult("verify", (StepResult(STEP, (HostResult("h1", OK),), "", 0, 0),), "", 0, 0)
    assert failure_reason("verify failed", passed) == "verify failed"


def test_a_measured_rpo_over_its_objective_fails_the_drill() -> None:
    loss = data_loss([w(1, 0, 1.0), w(2, 1, 2.5)], ReadBack("d", 5, (1,)))
    figures = DrillFigures(data=(loss,))
    over = Playbook("p", "d", 2, objectives=Objectives(rpo_s=1.0))
    assert objectives_verdict(over, figures, "ok") == (
        "failed",
        "measured RPO 1.50s is over the objective of 1s",
    )
    at = Playbook("p", "d", 2, objectives=Objectives(rpo_s=1.5))
    assert objectives_verdict(at, figures, "ok") == ("passed", "ok")


def test_an_incident_without_recovery_fails_even_without_objectives() -> None:
    still_down = measure(Timeline(samples=(ok(0), bad(1), bad(2)), first_fault_injected=0.5))
    no_incident = measure(Timeline(samples=(ok(0), ok(1), ok(2), ok(3))))
    playbook = Playbook("p", "d", 2)
    status, _ = objectives_verdict(playbook, DrillFigures(availability=(still_down,)), "ok")
    assert status == "failed"
    assert objectives_verdict(playbook, DrillFigures(availability=(no_incident,)), "ok") == (
        "passed",
        "ok",
    )


def test_a_latency_trigger_fired_by_a_failure_says_so() -> None:
    lat = TriggerRule("latency", "p", window_s=2.0, latency_p=100, above_s=1.0)
    fired = watch([lat], [ok(1), bad(2)])
    assert fired is not None
    assert fired.detail == "p: p100 latency above 1s in 2s (measured a failure)"


def test_loaded_probes_give_each_probes_interval_one_second_by_default() -> None:
    specs, _ = load({"a": {"command": "true", "every": "250ms"}, "b": {"command": "true"}})
    assert {name: spec.every_s for name, spec in specs.items()} == {"a": 0.25, "b": 1.0}
