"""The `run_measured` journal event: the runner's own numbers, from which a result is rebuilt
(the verdict and its reason, the budget, the drill's times without the samples, the
figures exactly as the runner had them, the baseline's verdict)."""

from __future__ import annotations

from dataclasses import asdict

from runner.engine.outcome import DrillOutcome, measured_record
from runner.measure.baseline import BaselineComparison
from runner.measure.figures import DrillFigures
from runner.measure.timeline import Timeline
from runner.playbook.model import Objectives, Playbook


def outcome(figures: DrillFigures | None) -> DrillOutcome:
    return DrillOutcome(
        "failed", "RTO over", (), "t0", "t1", 10.0, 20.0, True, True, None, 15.0, figures=figures
    )


def test_the_record_holds_the_verdict_times_figures_and_baseline() -> None:
    slower = BaselineComparison(30, 30, 0.01, 0.05, 5.0, 0.001, True)
    figures = DrillFigures(baseline=(("health", slower),))
    times = Timeline(probe="health@h1", deploy_started=11.0, rollback_started=14.0)
    playbook = Playbook("p.yml", "d", 2, objectives=Objectives(rto_s=5.0))
    record = measured_record(outcome(figures), playbook, times, {"health": 2})
    expected_times = {k: v for k, v in asdict(times).items() if k not in ("samples", "probe")}
    assert expected_times["deploy_started"] == 11.0
    assert record == {
        "status": "failed",
        "reason": "RTO over",
        "started_at": "t0",
        "ended_at": "t1",
        "started_mono": 10.0,
        "ended_mono": 20.0,
        "decided_mono": 15.0,
        "objectives": {"rto_s": 5.0, "rpo_s": None},
        "budget_s": 300.0,
        "timeline": expected_times,
        "healthy_after": {"health": 2},
        "figures": figures.as_result(),
        "baseline": "missed",
    }
    assert record["figures"] is not None


def test_without_times_or_figures_the_record_says_null() -> None:
    playbook = Playbook("p.yml", "d", 5)
    record = measured_record(outcome(None), playbook, None, {})
    assert (record["timeline"], record["figures"], record["baseline"], record["budget_s"]) == (
        None,
        None,
        None,
        None,
    )
