"""The reasons a drill fails its objectives, word for word: the verdict's reason is the
evidence a reader of result.json has, so each names every probe and every objective."""

from __future__ import annotations

from dataclasses import replace

from runner.engine.outcome import FAILED, PASSED, objectives_verdict
from runner.measure.figures import DrillFigures, measure_drill
from runner.measure.probes import ProbeLog
from runner.measure.rpo import data_loss
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.timeline import Timeline
from runner.playbook.model import Objectives, Playbook

TIMES = Timeline(deploy_started=0.5, first_fault_injected=1.0, verify_ended=4.0)


def playbook(rto: float | None = None, rpo: float | None = None) -> Playbook:
    return Playbook("drill.yml", "d", 2, objectives=Objectives(rto, rpo))


def unknown(probe: str, t: float) -> AvailabilitySample:
    return AvailabilitySample(probe, t, False, None, "no answer", unknown=True)


def all_lost() -> DrillFigures:
    """Both acknowledged writes are gone and none survived before them: the RPO (2.05 s,
    from the first send to the last ack) is only a lower bound."""
    attempts = [WriteAttempt("ledger@db1", seq, t, t + 0.05, True) for seq, t in ((1, 1), (2, 2))]
    return DrillFigures(data=(data_loss(attempts, ReadBack("ledger@db1", 10.0, ())),))


def test_an_rpo_lower_bound_within_the_objective_proves_nothing_and_says_so() -> None:
    figures = all_lost()
    assert figures.as_result()["rpo_lower_bound"] is True
    assert objectives_verdict(playbook(rpo=5.0), figures, "ok") == (
        FAILED,
        "RPO objective of 5s not measured: only a lower bound (≥ 1.05s) was measured",
    )
    # The same lower bound over the objective is a miss, shown as a lower bound.
    assert objectives_verdict(playbook(rpo=1.0), figures, "ok") == (
        FAILED,
        "measured RPO ≥ 1.05s is over the objective of 1s",
    )


def test_every_objective_that_was_not_met_is_named_in_one_reason() -> None:
    status, reason = objectives_verdict(playbook(rto=1.0, rpo=5.0), all_lost(), "ok")
    assert status == FAILED
    rto, rpo = reason.split("; ")
    assert rto.startswith("RTO objective of 1s not measured: ")
    assert rpo == "RPO objective of 5s not measured: only a lower bound (≥ 1.05s) was measured"


def test_an_rto_objective_is_never_read_as_a_lower_bound() -> None:
    # A data probe's lower-bound flag belongs to the RPO: an RTO measured within its
    # objective beside it is met.
    victim = [AvailabilitySample("h@a", t / 10, not 10 <= t < 15, 0.01) for t in range(40)]
    figures = replace(measure_drill(ProbeLog(availability=victim), TIMES), data=all_lost().data)
    assert figures.as_result()["rpo_lower_bound"] is True
    assert objectives_verdict(playbook(rto=1.0), figures, "ok") == (PASSED, "ok")


def test_every_blind_probe_is_named() -> None:
    samples = [unknown(p, t / 10) for p in ("h@a", "h@b") for t in range(40)]
    figures = measure_drill(ProbeLog(availability=samples), TIMES)
    assert objectives_verdict(playbook(), figures, "ok") == (
        FAILED,
        "availability not observed: every sample of h@a, h@b was unknown",
    )


def test_every_probe_that_saw_no_recovery_is_named() -> None:
    # Each fails at t=1.0 and sees nothing after it.
    samples = [
        AvailabilitySample(p, t / 10, t < 10, 0.01) if t <= 10 else unknown(p, t / 10)
        for p in ("h@a", "h@b")
        for t in range(40)
    ]
    figures = measure_drill(ProbeLog(availability=samples), TIMES)
    assert objectives_verdict(playbook(), figures, "ok") == (
        FAILED,
        "no recovery observed by h@a, h@b: only unknown samples after the incident",
    )
