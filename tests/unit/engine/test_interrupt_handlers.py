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
