"""The drill's signal handlers: installed for SIGINT and SIGTERM, reacting on a thread of
their own, and gone again (the previous handlers back) once the drill ends.
"""

from __future__ import annotations

import os
import signal
import time

from runner.engine.interrupts import Interrupts


def test_signals_reach_the_matrix_while_installed_and_the_old_handlers_return_after() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    notices: list[str] = []
    interrupts = Interrupts(notify=notices.append)
    interrupts.install()
    try:
        dispatcher = interrupts._dispatcher
        assert dispatcher is not None and dispatcher.is_alive()
        assert dispatcher.daemon is True  # never keeps the process alive on its own
        for sig in (signal.SIGINT, signal.SIGTERM):
            assert signal.getsignal(sig) == interrupts._handle
        interrupts.enter("deploy")
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not notices:
            assert time.monotonic() < deadline, "the signal never reached the matrix"
            time.sleep(0.005)
        assert interrupts.level == 1 and interrupts.signal_name == "SIGTERM"
        assert interrupts.token.cancelled
    finally:
        interrupts.uninstall()
    assert {s: signal.getsignal(s) for s in before} == before
    assert interrupts._dispatcher is None
    assert not dispatcher.is_alive()
    interrupts.uninstall()  # twice is harmless
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_drill_not_interrupted_names_no_signal_and_starts_in_no_phase() -> None:
    seen: list[tuple[str, str, int]] = []
    interrupts = Interrupts(notify=lambda text: None, on_signal=lambda *a: seen.append(a))
    assert (interrupts.signal_name, interrupts.phase, interrupts.level) == ("", "", 0)
    assert interrupts._dispatcher is None
    interrupts.uninstall()  # never installed: nothing to undo
    interrupts.trip("SIGINT")  # before any phase: during start-up
    assert seen == [("SIGINT", "", 1)]


def test_entering_a_phase_lets_its_steps_run_only_where_the_matrix_says() -> None:
    def after(signals: int, phase: str) -> bool:
        interrupts = Interrupts(notify=lambda text: None)
        interrupts.enter("deploy")
        for _ in range(signals):
            interrupts.trip("SIGINT")
        interrupts.enter(phase)
        return not interrupts.token.cancelled  # its steps may run

    assert after(1, "rollback") is True  # the rollback runs after one signal
    assert after(2, "rollback") is False  # not after a second
    assert after(3, "rollback") is False
    assert after(1, "verify") is False  # the change's phases stay stopped
    assert after(3, "cleanup") is True  # cleanup always runs
    assert after(0, "verify") is True
