"""The watchdog that ends calls blocked past their cancel or deadline."""

from __future__ import annotations

import threading
import time

from runner.connections.base import CancelToken
from runner.connections.watchdog import CANCELLED, DEADLINE, TICK_S, Watchdog


def test_a_guard_fires_its_abort_once_the_cancel_grace_has_passed() -> None:
    dog, aborted, cancel = Watchdog(), threading.Event(), CancelToken()
    with dog.guard(cancel, None, aborted.set, cancel_grace_s=0.3) as guard:
        cancel.cancel("interrupted by SIGINT")
        assert not aborted.wait(0.2), "fired before the grace was over"
        assert aborted.wait(0.3 + 4 * TICK_S), "did not fire after the grace"
    assert guard.fired == CANCELLED


def test_a_guard_fires_at_its_deadline_and_unblocks_the_call() -> None:
    dog, release = Watchdog(), threading.Event()
    started = time.monotonic()
    with dog.guard(None, started + 0.2, release.set) as guard:
        assert release.wait(5), "a blocked call was never released"
    assert 0.2 <= time.monotonic() - started < 0.2 + 4 * TICK_S
    assert guard.fired == DEADLINE


def test_a_guard_left_in_time_never_fires() -> None:
    dog, aborted = Watchdog(), threading.Event()
    with dog.guard(CancelToken(), time.monotonic() + 0.2, aborted.set) as guard:
        pass
    assert not aborted.wait(0.4)
    assert guard.fired == ""


def test_an_abort_that_fails_does_not_stop_the_others() -> None:
    dog, aborted = Watchdog(), threading.Event()

    def broken() -> None:
        raise OSError("socket already closed")

    now = time.monotonic()
    with dog.guard(None, now, broken), dog.guard(None, now + 0.1, aborted.set):
        assert aborted.wait(2)


def test_a_reset_token_forgets_when_it_was_cancelled() -> None:
    cancel = CancelToken()
    cancel.cancel("first")
    first = cancel.cancelled_at
    assert first is not None
    cancel.cancel("again")
    assert cancel.cancelled_at == first  # the first interrupt starts the clock
    cancel.reset()
    assert cancel.cancelled_at is None and not cancel.cancelled
