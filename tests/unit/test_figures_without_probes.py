"""The figures a drill measures without an availability probe (its own decision and rollback
times, each null with its reason), the writes the data probe does not judge, and the
unknown time the report's availability strip shows.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from dataclasses import replace

from runner.engine.outcome import FAILED, objectives_verdict
from runner.measure.figures import (
    NO_AVAILABILITY_PROBE,
    DrillFigures,
    availability_block,
    measure_drill,
)
from runner.measure.probes import ProbeLog
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.timeline import Timeline
from runner.playbook.model import Playbook

TIMES = Timeline(
    deploy_started=0.5, detected=1.0, decided=1.5, rollback_started=2.0, rollback_ended=3.25
)


def test_without_an_availability_probe_the_drills_own_times_are_measured() -> None:
    measured = measure_drill(ProbeLog(), TIMES).as_result()
    assert (measured["time_to_decide_s"], measured["time_to_rollback_s"]) == (0.5, 1.25)
    assert measured["rto_s"] is None
    assert measured["reasons"]["rto_s"] == NO_AVAILABILITY_PROBE
    assert "time_to_decide_s" not in measured["reasons"]
    assert "time_to_rollback_s" not in measured["reasons"]


def test_a_drill_time_that_was_not_recorded_is_null_with_the_timelines_reason() -> None:
    times = Timeline(deploy_started=0.5, rollback_started=2.0)
    measured = DrillFigures(times=times).as_result()
    assert (measured["time_to_decide_s"], measured["time_to_rollback_s"]) == (None, None)
    assert measured["reasons"]["time_to_decide_s"] == (
        "time to decide not measured: no trigger was recorded"
    )
    assert measured["reasons"]["time_to_rollback_s"] == (
        "time to roll back not measured: no rollback end was recorded"
    )


def test_without_a_timeline_the_drill_times_say_so() -> None:
    measured = DrillFigures().as_result()
    for name in ("time_to_decide_s", "time_to_rollback_s"):
        assert measured[name] is None
        assert measured["reasons"][name] == "the drill recorded no timeline to measure it from"


def test_writes_before_the_window_are_not_judged_by_the_drill() -> None:
    # deploy starts at 0.5: the write sent at 0.25 (prepare's) is not judged, and its
    # absence from the read-back is no loss.
    writes = [
        WriteAttempt("ledger@db1", seq, t, t + 0.05, True) for seq, t in ((1, 0.25), (2, 1.0))
    ]
    log = ProbeLog(writes=writes, reads=[ReadBack("ledger@db1", 5.0, (2,))])
    [loss] = measure_drill(log, TIMES).data
    assert (loss.not_judged, loss.lost, loss.stable) == ((1,), (), (2,))
    assert measure_drill(log, TIMES).as_result()["lost_writes"] == 0


def test_the_strips_unknown_time_is_rounded_to_the_millisecond() -> None:
    samples = [
        AvailabilitySample("up@a", t / 10, False, None, "no answer", unknown=t < 5)
        for t in range(10)
    ]
    figures = measure_drill(ProbeLog(availability=samples), TIMES)
    [m] = figures.availability
    figures = replace(figures, availability=(replace(m, unknown_samples=5, unknown_s=1.23456),))
    [block] = availability_block(figures, 0.0)
    assert (block["unknown_samples"], block["unknown_s"]) == (5, 1.235)


def test_a_null_resolution_says_whether_the_samples_were_unknown_or_absent() -> None:
    blind = [unknown("up@a", t / 10) for t in range(10)]
    measured = measure_drill(ProbeLog(availability=blind), TIMES).as_result()
    assert measured["resolution_s"] is None
    assert measured["reasons"]["resolution_s"] == "up@a: every sample in the window was unknown"
    # Every sample before the window (deploy starts at 0.5): none in it.
    early = [AvailabilitySample("up@a", t / 10, True, 0.01) for t in range(4)]
    measured = measure_drill(ProbeLog(availability=early), TIMES).as_result()
    assert measured["resolution_s"] is None
    assert measured["reasons"]["resolution_s"] == "up@a: no availability samples in the window"
    # A measured resolution carries no reason.
    seen = [AvailabilitySample("up@a", t / 10, True, 0.01) for t in range(10)]
    measured = measure_drill(ProbeLog(availability=seen), TIMES).as_result()
    assert measured["resolution_s"] == 0.1 and "resolution_s" not in measured["reasons"]


def unknown(probe: str, t: float) -> AvailabilitySample:
    return AvailabilitySample(probe, t, False, None, "no answer", unknown=True)


def test_an_instance_down_at_the_close_outranks_one_that_could_not_see() -> None:
    # up@b fails only at its last sample, at the window's close: no recovery, and a
    # downtime of 0 s. up@a saw nothing for a while and no failure: it cannot tell whether
    # it had an outage. The one that saw the service down stands for it, and fails the drill.
    partly_blind = [
        AvailabilitySample("up@a", t / 10, True, 0.01) if t % 2 else unknown("up@a", t / 10)
        for t in range(41)
    ]
    down_at_close = [AvailabilitySample("up@b", t / 10, t < 40, 0.01) for t in range(41)]
    times = Timeline(deploy_started=0.5, verify_ended=4.0)
    figures = measure_drill(ProbeLog(availability=partly_blind + down_at_close), times)
    a, b = figures.availability
    assert (a.incident_start, a.no_incident, a.downtime_s) == (None, False, 0.0)
    assert (b.first_failed_sample, b.recovered_at, b.downtime_s) == (4.0, None, 0.0)
    worst = figures.worst()
    assert worst is not None and worst.probe == "up@b"
    playbook = Playbook("drill.yml", "d", 2)
    assert objectives_verdict(playbook, figures, "ok") == (
        FAILED,
        "no lasting recovery observed by up@b after the incident",
    )


def lost_all(probe: str) -> tuple[list[WriteAttempt], ReadBack]:
    """Two acknowledged writes, none read back: an RPO of 0.55 s that is a lower bound."""
    writes = [WriteAttempt(probe, seq, t, t + 0.05, True) for seq, t in ((1, 1.0), (2, 1.5))]
    return writes, ReadBack(probe, 5.0, ())


def test_the_rpo_lower_bound_is_the_worst_data_probes() -> None:
    writes, read = lost_all("ledger@db1")
    kept = [WriteAttempt("ledger@db2", 1, 1.0, 1.05, True)]
    log = ProbeLog(writes=writes + kept, reads=[read, ReadBack("ledger@db2", 5.0, (1,))])
    measured = measure_drill(log, TIMES).as_result()
    # Under a second: a bound that ranks a missing RPO as 1 s would pick the other probe.
    assert (measured["rpo_s"], measured["rpo_lower_bound"]) == (0.55, True)


def test_an_unknown_rpo_is_neither_a_lower_bound_nor_not_one() -> None:
    writes, read = lost_all("ledger@db1")
    failed = ReadBack("ledger@db2", 5.0, (), "timed out after 10s")
    log = ProbeLog(writes=writes, reads=[read, failed])
    measured = measure_drill(log, TIMES).as_result()
    assert (measured["rpo_s"], measured["rpo_lower_bound"]) == (None, None)
