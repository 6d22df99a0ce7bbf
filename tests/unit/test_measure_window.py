"""The measurement window and the verdicts: what prepare does is not judged, a figure not
measured is null with its reason, and an objective is `met` only when it was measured."""

from __future__ import annotations

import pytest

from runner.engine.outcome import (
    FAILED,
    MET,
    MISSED,
    NOT_MEASURED,
    PASSED,
    objective_verdict,
    objectives_verdict,
)
from runner.measure.figures import DrillFigures, data_block, measure_drill, measured_without_probes
from runner.measure.probes import ProbeLog
from runner.measure.rpo import data_loss
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.timeline import Timeline
from runner.playbook.model import Objectives, Playbook

PROBE = "ledger@db1"


def writes(*sent: float) -> list[WriteAttempt]:
    return [WriteAttempt(PROBE, i, t, t + 0.05, True) for i, t in enumerate(sent, start=1)]


def test_writes_sent_before_the_window_opens_are_not_judged() -> None:
    # prepare wiped the store at t=2.5: writes 1 and 2 are gone, and that is no data loss.
    attempts = writes(1.0, 2.0, 3.0, 4.0)
    read = ReadBack(PROBE, 10.0, (3, 4))
    loss = data_loss(attempts, read, window_opens=3.0)
    assert (loss.stable, loss.lost, loss.not_judged) == ((3, 4), (), (1, 2))
    assert (loss.lost_writes, loss.rpo_s) == (0, 0.0)
    assert "2 write(s) sent before the measurement window opened were not judged" in loss.notes
    # Judged from the start (measure_from: prepare), the same writes are lost.
    judged = data_loss(attempts, read, window_opens=1.0)
    assert (judged.lost, judged.lost_writes) == ((1, 2), 2)
    # A write sent exactly as the window opens is inside it.
    assert data_loss(attempts, read, window_opens=2.0).lost == (2,)


def test_a_failed_read_back_leaves_every_data_figure_null_with_the_reason() -> None:
    read = ReadBack(PROBE, 10.0, (), "line 1 'probe-12' is not a sequence number")
    loss = data_loss(writes(1.0, 2.0), read)
    assert (loss.lost_writes, loss.rpo_s, loss.judged) == (None, None, False)
    assert "probe-12" in loss.reasons["lost_writes"] and "probe-12" in loss.reasons["rpo_s"]
    figures = DrillFigures(data=(loss,))
    [block] = data_block(figures)
    assert {block[k] for k in ("stable", "lost", "failed", "recovered", "lost_seqs")} == {None}
    measured = figures.as_result()
    assert (measured["lost_writes"], measured["rpo_s"]) == (None, None)
    assert "probe-12" in measured["reasons"]["rpo_s"]
    # A good read next to it does not stand in for it: the sum would understate the loss.
    good = data_loss(writes(1.0), ReadBack("other@db2", 10.0, ()))
    assert DrillFigures(data=(good, loss)).as_result()["lost_writes"] is None


def test_a_measured_figure_has_no_reason_and_each_null_one_has_one() -> None:
    samples = [AvailabilitySample("h@a", t / 10, not 10 <= t < 20, 0.01) for t in range(40)]
    times = Timeline(deploy_started=0.5, rollback_started=1.5, rollback_ended=1.9, verify_ended=4.0)
    log = ProbeLog(availability=samples)
    measured = measure_drill(log, times, {"h": 3}).as_result()
    assert measured["rto_s"] == pytest.approx(1.0)
    assert measured["downtime_s"] == pytest.approx(1.0)
    assert set(measured["reasons"]) == {
        "time_to_detect_s",
        "time_to_decide_s",
        "lost_writes",
        "rpo_s",
    }
    assert "no data probe" in measured["reasons"]["rpo_s"]
    assert "no trigger was recorded" in measured["reasons"]["time_to_detect_s"]


def test_prepare_is_outside_the_window_unless_measure_from_prepare() -> None:
    # The service restarts during prepare (t 0.2-0.5); the change begins at 1.0 and is fine.
    samples = [AvailabilitySample("h@a", t / 10, not 2 <= t < 5, 0.01) for t in range(30)]
    log = ProbeLog(availability=samples)
    after_prepare = Timeline(deploy_started=1.0, verify_ended=3.0)
    measured = measure_drill(log, after_prepare).as_result()
    assert measured["downtime_s"] == 0.0 and measured["rto_s"] is None
    assert "no incident" in measured["reasons"]["rto_s"]
    from_prepare = measure_drill(
        log, Timeline(deploy_started=1.0, verify_ended=3.0, window_from=0.0)
    )
    assert from_prepare.as_result()["downtime_s"] == pytest.approx(0.3)


def test_an_instance_that_never_recovered_stands_for_the_service() -> None:
    recovered = [AvailabilitySample("h@a", t / 10, not 10 <= t < 15, 0.01) for t in range(40)]
    stuck = [AvailabilitySample("h@b", t / 10, t < 12, 0.01) for t in range(40)]
    times = Timeline(deploy_started=0.5, verify_ended=4.0)
    figures = measure_drill(ProbeLog(availability=recovered + stuck), times)
    worst = figures.worst()
    assert worst is not None and worst.probe == "h@b" and worst.rto_s is None
    assert figures.as_result()["rto_s"] is None  # never the other host's 0.5 s


def test_an_instance_that_never_failed_does_not_stand_for_the_service() -> None:
    # A fault on host a at t=1.0: a fails and recovers, b serves throughout.
    victim = [AvailabilitySample("h@a", t / 10, not 10 <= t < 15, 0.01) for t in range(40)]
    bystander = [AvailabilitySample("h@b", t / 10, True, 0.01) for t in range(40)]
    times = Timeline(deploy_started=0.5, first_fault_injected=1.0, verify_ended=4.0)
    figures = measure_drill(ProbeLog(availability=victim + bystander), times)
    worst = figures.worst()
    assert worst is not None and worst.probe == "h@a"
    assert figures.as_result()["rto_s"] == pytest.approx(0.5)
    status, _ = objectives_verdict(playbook(rto=1.0), figures, "ok")
    assert status == PASSED


@pytest.mark.parametrize(
    ("measured", "objective", "lower_bound", "verdict"),
    [
        (None, None, False, None),
        (1.0, None, False, None),
        (None, 5.0, False, NOT_MEASURED),
        (5.0, 5.0, False, MET),
        (5.001, 5.0, False, MISSED),
        (0.0, 0.0, False, MET),
        (3.0, 5.0, True, NOT_MEASURED),  # at least 3 s: it may be more than 5
        (6.0, 5.0, True, MISSED),  # at least 6 s: surely more than 5
    ],
)
def test_an_objective_is_met_only_when_measured_within_it(
    measured: float | None, objective: float | None, lower_bound: bool, verdict: str | None
) -> None:
    assert objective_verdict(measured, objective, lower_bound=lower_bound) == verdict


def playbook(rto: float | None = None, rpo: float | None = None) -> Playbook:
    return Playbook("drill.yml", "d", 2, objectives=Objectives(rto, rpo))


def test_an_objective_that_was_not_measured_fails_the_drill_and_says_why() -> None:
    status, reason = objectives_verdict(playbook(rpo=0.0), None, "rolled back")
    assert status == FAILED
    assert reason == "RPO objective of 0s not measured: not measured: the playbook has no probes"
    read = ReadBack(PROBE, 10.0, (), "timed out after 10s")
    figures = DrillFigures(data=(data_loss(writes(1.0), read),))
    status, reason = objectives_verdict(playbook(rpo=5.0), figures, "rolled back")
    assert status == FAILED and "RPO objective of 5s not measured" in reason
    assert "timed out after 10s" in reason
    # Without objectives, nothing is owed: the drill's own verdict stands.
    assert objectives_verdict(playbook(), figures, "rolled back") == (PASSED, "rolled back")


def test_a_measured_objective_within_its_limit_passes_and_over_it_fails() -> None:
    figures = DrillFigures(data=(data_loss(writes(1.0, 2.0), ReadBack(PROBE, 10.0, (1, 2))),))
    assert objectives_verdict(playbook(rpo=0.0), figures, "ok") == (PASSED, "ok")
    lost = DrillFigures(data=(data_loss(writes(1.0, 2.0), ReadBack(PROBE, 10.0, (1,))),))
    status, reason = objectives_verdict(playbook(rpo=0.5), lost, "ok")
    assert status == FAILED and reason == "measured RPO 1.00s is over the objective of 0.5s"
    assert objectives_verdict(playbook(rpo=1.0), lost, "ok") == (PASSED, "ok")


def test_without_probes_only_the_drills_own_times_are_measured() -> None:
    measured = measured_without_probes(0.25, None)
    assert measured["time_to_decide_s"] == 0.25 and measured["time_to_rollback_s"] is None
    assert measured["reasons"]["time_to_rollback_s"] == "not measured: no rollback ran"
    assert "time_to_decide_s" not in measured["reasons"]
    assert set(measured["reasons"]) == {
        k for k, v in measured.items() if v is None and k != "rpo_lower_bound"
    }
