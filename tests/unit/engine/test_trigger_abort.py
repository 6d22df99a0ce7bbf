"""A rollback trigger that fires stops the running change step, and the step says why."""

from __future__ import annotations

from runner.engine.interrupts import Interrupts


def test_a_fired_trigger_stops_the_running_step_naming_the_trigger() -> None:
    interrupts = Interrupts(notify=lambda text: None)
    interrupts.abort_change("error rate 12% > 5% on web")
    assert interrupts.token.cancelled
    assert interrupts.token.reason == "stopped: rollback triggered (error rate 12% > 5% on web)"
    assert interrupts.interrupted() is False  # not a signal: the run is not interrupted


def test_a_trigger_without_detail_still_says_it_was_a_rollback_trigger() -> None:
    interrupts = Interrupts(notify=lambda text: None)
    interrupts.abort_change()
    assert interrupts.token.cancelled
    assert interrupts.token.reason == "stopped: rollback triggered"
