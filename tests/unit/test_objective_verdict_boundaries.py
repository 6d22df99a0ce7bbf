"""An objective's verdict on both sides of its boundary: a figure equal to its objective meets
it, a figure over it misses it, and only a lower bound is undecided unless it is over."""

from __future__ import annotations

from runner.engine.outcome import MET, MISSED, NOT_MEASURED, objective_verdict


def test_a_figure_at_its_objective_meets_it_and_one_over_it_misses_it() -> None:
    assert objective_verdict(2.0, 2.0) == MET
    assert objective_verdict(2.001, 2.0) == MISSED
    assert objective_verdict(0.0, 2.0) == MET


def test_a_measured_figure_is_not_a_lower_bound_unless_it_says_so() -> None:
    assert objective_verdict(1.0, 2.0) == MET
    assert objective_verdict(1.0, 2.0, lower_bound=True) == NOT_MEASURED
    assert objective_verdict(3.0, 2.0, lower_bound=True) == MISSED


def test_no_objective_has_no_verdict_and_no_figure_is_not_measured() -> None:
    assert objective_verdict(1.0, None) is None
    assert objective_verdict(None, 2.0) == NOT_MEASURED
