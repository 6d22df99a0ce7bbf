"""A drill's figures from the probe log: per-instance measurements, the worst instance, and
the result.json blocks built from them, checked value by value."""

from __future__ import annotations

from typing import Any

from runner.engine.outcome import objectives_verdict
from runner.measure.baseline import BaselineComparison
from runner.measure.figures import (
    DrillFigures,
    availability_block,
    baseline_block,
    data_block,
    measure_drill,
    timeline_block,
)
from runner.measure.probes import ProbeLog
from runner.measure.recovery import measure
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
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


def test_the_longest_rto_is_the_worst_even_with_a_shorter_downtime() -> None:
    log = ProbeLog()
    for t in range(0, 12):
        log.availability.append(down("long@h", t) if t in (2, 6) else ok("long@h", t))  # RTO 5
        log.availability.append(down("busy@h", t) if 2 <= t <= 4 else ok("busy@h", t))  # RTO 3
    figures = measure_drill(log, Timeline(first_fault_injected=2.0, verify_ended=11.0), {})
    worst = figures.worst()
    assert worst is not None and (worst.probe, worst.rto_s, worst.downtime_s) == (
        "long@h",
        5.0,
        2.0,
    )


def test_an_instance_that_never_failed_does_not_stand_for_one_that_recovered() -> None:
    """The fault hit h1 only: h2 saw no outage, so h1's RTO stands for the service."""
    log = ProbeLog()
    for t in range(0, 12):
        log.availability.append(down("web@h1", t) if t == 2 else ok("web@h1", t))  # RTO 1
        log.availability.append(ok("web@h2", t))
    figures = measure_drill(log, Timeline(first_fault_injected=2.0, verify_ended=11.0), {})
    worst = figures.worst()
    assert worst is not None and (worst.probe, worst.rto_s) == ("web@h1", 1.0)
    playbook = Playbook("p", "d", 2, objectives=Objectives(rto_s=60.0))
    assert objectives_verdict(playbook, figures, "ok") == ("passed", "ok")


STARTED_AT, STARTED_MONO = "2026-01-01T00:00:00.000Z", 100.0
TIMES = Timeline(
    deploy_started=110.0,
    first_fault_injected=115.0,
    detected=116.50049,
    decided=117.25,
    rollback_started=118.0,
    rollback_ended=125.0,
    verify_ended=140.0,
)


def write(probe: str, seq: int, sent: float, ack: float | None) -> WriteAttempt:
    return WriteAttempt(probe, seq, sent, ack, ack is not None)


def drill_log() -> ProbeLog:
    """web@h1 fails at 115..119; data probes d and g lose writes; e has no read-back."""
    log = ProbeLog()
    for t in range(101, 142):
        if t < 110 or 111 <= t <= 114:
            log.availability.append(ok("web@h1", float(t), 0.1))
        elif t == 110:
            log.availability.append(ok("web@h1", 110.0, 0.5))  # at deploy: not baseline
        elif t <= 119:
            log.availability.append(down("web@h1", float(t)))
        else:
            log.availability.append(ok("web@h1", float(t), 0.23456))
    log.writes += [
        write("d", 1, 111.0, 111.5),  # stable
        write("d", 2, 116.0, 116.25),  # lost
        write("d", 3, 117.0, None),  # recovered (present, 3 twice)
        write("d", 4, 118.0, None),  # failed
        write("d", 5, 131.0, None),  # sent after the read-back: not judged
        write("e", 2, 111.0, 112.0),  # another probe's write: not d's
        write("g", 1, 119.5, 120.0),
        write("g", 2, 120.5, 121.0),
        write("g", 3, 121.5, 122.0),
    ]
    log.reads += [ReadBack("d", 130.0, (1, 3, 3, 9)), ReadBack("g", 130.0, (1,))]
    return log


def test_measure_drill_gives_each_figure_of_a_drill() -> None:
    figures = measure_drill(drill_log(), TIMES, {"web": 3})
    (m,) = figures.availability
    assert m == measure(
        Timeline(
            samples=tuple(s for s in drill_log().availability),
            probe="web@h1",
            deploy_started=110.0,
            first_fault_injected=115.0,
            detected=116.50049,
            decided=117.25,
            rollback_started=118.0,
            rollback_ended=125.0,
            verify_ended=140.0,
            healthy_after=3,
        )
    )
    assert (m.incident_start, m.recovered_at, m.rto_s, m.downtime_s) == (115.0, 120.0, 5.0, 5.0)
    assert figures.as_result() == {
        "time_to_detect_s": 1.5,
        "time_to_decide_s": 0.75,
        "time_to_rollback_s": 7.0,
        "rto_s": 5.0,
        "downtime_s": 5.0,
        "lost_writes": 3,  # 1 of d and 2 of g
        "rpo_s": 4.75,  # the longer of d's 4.75 s and g's 2 s
        "resolution_s": 1.0,
        "rpo_lower_bound": False,  # d and g each had a surviving write before the lost one
        "reasons": {},  # every figure was measured
    }


def test_the_data_block_classifies_each_probes_writes_against_its_own_read() -> None:
    figures = measure_drill(drill_log(), TIMES, {})
    expected: list[dict[str, Any]] = [
        {
            "probe": "d",
            "stable": 1,
            "lost": 1,
            "recovered": 1,
            "failed": 1,
            "duplicated": 1,
            "unexpected": 1,
            "not_judged": 1,
            "lost_seqs": [2],
            "lost_writes": 1,
            "rpo_s": 4.75,
            "rpo_lower_bound": False,
            "notes": ["1 write(s) sent after the read-back were not judged"],
            "reasons": {},  # both figures measured
        },
        {
            "probe": "g",
            "stable": 1,
            "lost": 2,
            "recovered": 0,
            "failed": 0,
            "duplicated": 0,
            "unexpected": 0,
            "not_judged": 0,
            "lost_seqs": [2, 3],
            "lost_writes": 2,
            "rpo_s": 2.0,
            "rpo_lower_bound": False,
            "notes": [],
            "reasons": {},
        },
    ]
    assert data_block(figures) == expected


def test_the_data_block_lists_at_most_100_lost_sequence_numbers() -> None:
    log = ProbeLog()
    log.writes += [write("d", n, float(n), n + 0.5) for n in range(1, 152)]
    log.reads.append(ReadBack("d", 1000.0, (1,)))
    (block,) = data_block(measure_drill(log, Timeline(), {}))
    assert block["lost_seqs"] == list(range(2, 102))
    assert block["lost_writes"] == 150


def test_a_failed_read_back_leaves_lost_writes_and_rpo_unmeasured() -> None:
    log = drill_log()
    log.reads.append(ReadBack("e", 130.0, (), error="timed out"))
    result = measure_drill(log, TIMES, {}).as_result()
    assert result["lost_writes"] is None and result["rpo_s"] is None


def test_without_a_data_probe_lost_writes_and_rpo_are_unmeasured() -> None:
    log = drill_log()
    log.reads.clear()
    result = measure_drill(log, TIMES, {}).as_result()
    assert result["lost_writes"] is None and result["rpo_s"] is None
    assert result["rto_s"] == 5.0


def test_without_availability_samples_every_availability_figure_is_unmeasured() -> None:
    result = DrillFigures().as_result()
    reasons = result.pop("reasons")
    assert result == dict.fromkeys(result, None)
    assert len(result) == 9  # the eight figures and rpo_lower_bound
    for figure in ("time_to_detect_s", "rto_s", "downtime_s", "resolution_s"):
        assert "no availability probe" in reasons[figure]
    for figure in ("lost_writes", "rpo_s"):
        assert "no data probe" in reasons[figure]


def test_the_baseline_compares_before_the_deploy_with_after_the_rollback_until_verify_ended() -> (
    None
):
    figures = measure_drill(drill_log(), TIMES, {})
    (block,) = baseline_block(figures)
    p_value = block.pop("p_value")
    assert isinstance(p_value, float) and 0.0 < p_value < 0.01
    # before: t=101..109 (t=110 is the deploy itself); after: t=125..140 (not 141).
    assert block == {
        "probe": "web@h1",
        "n_before": 13 - 4,
        "n_after": 16,
        "median_before_ms": 100.0,
        "median_after_ms": 234.56,
        "ratio": 2.346,
        "slower": True,
    }


def test_no_rollback_no_baseline_comparison() -> None:
    figures = measure_drill(drill_log(), Timeline(deploy_started=110.0, verify_ended=140.0), {})
    assert figures.baseline == ()
    assert baseline_block(figures) == []


def test_the_timeline_block_gives_the_worst_instances_times_as_utc() -> None:
    figures = measure_drill(drill_log(), TIMES, {})
    assert timeline_block(figures, STARTED_AT, STARTED_MONO) == {
        "t0": "2026-01-01T00:00:15.000Z",
        "detected": "2026-01-01T00:00:16.500Z",
        "decided": "2026-01-01T00:00:17.250Z",
        "rollback_started": "2026-01-01T00:00:18.000Z",
        "rollback_ended": "2026-01-01T00:00:25.000Z",
        "recovered": "2026-01-01T00:00:20.000Z",
        "probe": "web@h1",
        "no_incident": False,
        "notes": [],
    }
    assert timeline_block(DrillFigures(), STARTED_AT, STARTED_MONO) == {}


def test_the_availability_block_merges_equal_verdicts_into_runs_from_the_start() -> None:
    figures = measure_drill(drill_log(), TIMES, {})
    assert availability_block(figures, STARTED_MONO) == [
        {
            "probe": "web@h1",
            "runs": [[1.0, 15.0, True], [15.0, 20.0, False], [20.0, 41.0, True]],
            "unknown_samples": 0,  # every sample had a verdict
            "unknown_s": 0,
        }
    ]


def test_each_probe_instance_recovers_by_its_own_probes_healthy_after() -> None:
    """web needs 4 healthy samples (given), api the default 3."""
    log = ProbeLog()
    for t in range(0, 8):
        log.availability.append(down("web@h1", t) if 2 <= t <= 4 else ok("web@h1", t))
        log.availability.append(down("api@user@h2", t) if 2 <= t <= 4 else ok("api@user@h2", t))
    times = Timeline(first_fault_injected=2.0, verify_ended=7.0)
    both = {m.probe: m.recovered_at for m in measure_drill(log, times, {"web": 4}).availability}
    assert both == {"web@h1": None, "api@user@h2": 5.0}  # streaks of 3: t=5, 6, 7
    assert measure_drill(log, times, {"web": 3, "api": 4}).availability[0].recovered_at is None


def test_block_figures_are_rounded_to_the_millisecond_and_a_last_odd_sample_is_a_run() -> None:
    log = ProbeLog()
    log.availability += [ok("p@h", 101.00049), ok("p@h", 102.0), down("p@h", 103.00051)]
    figures = measure_drill(log, Timeline(), {})
    assert availability_block(figures, 100.0) == [
        {
            "probe": "p@h",
            "runs": [[1.0, 3.001, True], [3.001, 3.001, False]],
            "unknown_samples": 0,
            "unknown_s": 0,
        }
    ]
    comparison = BaselineComparison(8, 8, 0.1234567, 0.2345678, 1.9000497, 0.001, True)
    (block,) = baseline_block(DrillFigures(baseline=(("p@h", comparison),)))
    assert (block["median_before_ms"], block["median_after_ms"]) == (123.457, 234.568)
    assert block["ratio"] == 1.9


def test_a_sub_second_rto_still_outranks_an_instance_that_never_failed() -> None:
    log = ProbeLog()
    for k in range(0, 40):
        t = k * 0.25
        log.availability.append(down("web@h1", t) if k == 8 else ok("web@h1", t))  # RTO 0.25
        log.availability.append(ok("web@h2", t))
    figures = measure_drill(log, Timeline(first_fault_injected=2.0, verify_ended=9.75), {})
    worst = figures.worst()
    assert worst is not None and (worst.probe, worst.rto_s) == ("web@h1", 0.25)


def test_figures_without_a_timeline_are_null_each_with_its_reason() -> None:
    result = DrillFigures().as_result()
    nulls = [k for k, v in result.items() if v is None and k not in ("rpo_lower_bound",)]
    assert nulls and all(k in result["reasons"] for k in nulls), (nulls, result["reasons"])
    assert "no timeline" in result["reasons"]["time_to_rollback_s"]


def two_eyes_on_one_outage(fast_fails_at: int, detected: float) -> DrillFigures:
    """One outage seen by a fast probe from `fast_fails_at` and by a slow one (the worst,
    with the longer RTO) from t=14; the fast one back at t=20, the slow one at t=25."""
    log = ProbeLog()
    for t in range(10, 31):
        log.availability.append(down("fast@h", t) if fast_fails_at <= t < 20 else ok("fast@h", t))
        log.availability.append(down("slow@h", t) if 14 <= t < 25 else ok("slow@h", t))
    times = Timeline(deploy_started=10.0, detected=detected, verify_ended=30.0)
    return measure_drill(log, times, {})


def test_time_to_detect_runs_from_the_first_instance_to_see_the_outage() -> None:
    # The trigger (an alert) fired at 13.5, before the worst instance's first failed
    # sample at 14: the fast probe's failure at 12 dates the incident.
    figures = two_eyes_on_one_outage(12, detected=13.5)
    worst = figures.worst()
    assert worst is not None and worst.probe == "slow@h" and worst.time_to_detect_s is None
    measured = figures.as_result()
    assert measured["time_to_detect_s"] == 1.5
    assert "time_to_detect_s" not in measured["reasons"]
    assert measured["rto_s"] == 11.0  # the worst instance's own, from its own T0


def test_a_trigger_before_any_probe_saw_the_outage_leaves_time_to_detect_unmeasured() -> None:
    figures = two_eyes_on_one_outage(14, detected=13.5)
    measured = figures.as_result()
    assert measured["time_to_detect_s"] is None
    assert measured["reasons"]["time_to_detect_s"] == (
        "time to detect not measured: the trigger (t=13.500) precedes the first evidence "
        "of the incident on any probe (fast@h, t=14.000)"
    )


def test_a_trigger_at_the_first_failed_sample_measures_zero() -> None:
    assert two_eyes_on_one_outage(13, detected=13.0).as_result()["time_to_detect_s"] == 0.0
