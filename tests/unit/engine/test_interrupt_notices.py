"""What the terminal says on each signal of the interrupt matrix, and why a step stopped.

The notice is the operator's only guide mid-interrupt (whether a second Ctrl-C helps, and
what `drillctl recover` is for); the token's reason becomes the stopped step's message.
"""

from __future__ import annotations

import pytest

from runner.engine.interrupts import Interrupts, reaction


@pytest.mark.parametrize("count", [1, 2, 3])
def test_cleanup_always_finishes_and_names_the_only_way_to_abandon_it(count: int) -> None:
    act = reaction("cleanup", count, "SIGTERM")
    assert act.stop_running_step is False
    assert act.notice == (
        "SIGTERM: cleanup is running and will finish, then the run exits 130 "
        "(only kill -9 abandons it; `drillctl recover RUN_DIR` then reverts faults)"
    )


def test_a_first_signal_in_rollback_lets_it_finish_and_says_a_second_aborts_it() -> None:
    act = reaction("rollback", 1, "SIGINT")
    assert act.stop_running_step is False
    assert act.notice == (
        "SIGINT: the rollback will finish, then cleanup runs and the run exits 130; "
        "a second Ctrl-C (or SIGTERM) aborts the rollback"
    )


@pytest.mark.parametrize("phase", ["prepare", "deploy", "inject", "verify"])
def test_a_first_signal_in_the_change_stops_the_step_and_says_what_follows(phase: str) -> None:
    act = reaction(phase, 1, "SIGINT")
    assert act.stop_running_step is True
    assert act.notice == (
        "SIGINT: stopping the current step; faults are reverted, then the rollback "
        "(if the change began) and cleanup run; a second signal skips the rollback"
    )


@pytest.mark.parametrize("phase", ["deploy", "rollback"])
def test_a_second_signal_skips_the_rollback_and_says_cleanup_still_runs(phase: str) -> None:
    act = reaction(phase, 2, "SIGTERM")
    assert act.stop_running_step is True
    assert act.notice == (
        "SIGTERM again: skipping the rest of rollback; faults are reverted first, "
        "then cleanup runs and finishes"
    )


def test_a_stopped_step_is_told_which_signal_stopped_it() -> None:
    notices: list[str] = []
    interrupts = Interrupts(notices.append)
    interrupts.enter("deploy")
    interrupts.trip("SIGTERM")
    assert interrupts.token.cancelled
    assert interrupts.token.reason == "interrupted by SIGTERM"
    assert len(notices) == 1 and notices[0].startswith("SIGTERM: stopping the current step")


def test_a_first_signal_in_rollback_leaves_the_step_running_and_a_second_stops_it() -> None:
    interrupts = Interrupts(lambda _: None)
    interrupts.enter("rollback")
    interrupts.trip("SIGINT")
    assert not interrupts.token.cancelled and interrupts.token.reason == ""
    interrupts.trip("SIGTERM")
    assert interrupts.token.cancelled
    # The first signal's name stays the run's; the token says which one stopped the step.
    assert interrupts.signal_name == "SIGINT"
    assert interrupts.token.reason == "interrupted by SIGTERM"
