"""A drill measures each probe with the probe's own `healthy_after`, not the default.

`healthy_after` is the N of "back when N consecutive samples are healthy". The drill passes
the playbook's values to the measurement; dropping them would judge every probe by the
default's count, and call a service recovered on fewer healthy samples than it asked for.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from runner.engine.drill import DrillRun
from runner.measure.figures import DrillFigures
from runner.measure.probes import ProbeLog
from runner.measure.samples import AvailabilitySample


class _Run:
    """Just what `DrillRun._figures` reads of a run: its state, playbook, ledger, monitor."""

    _figures = DrillRun._figures
    _healthy_after = DrillRun._healthy_after

    def __init__(self, healthy_after: int) -> None:
        # Healthy until the change at t=10, down from 11, healthy again for the last three
        # samples of the window (28, 29, 30).
        samples = [
            AvailabilitySample("health@web1", float(t), not 11 <= t <= 27, 0.01)
            for t in range(5, 31)
        ]
        rollback = SimpleNamespace(started_mono=13.0, duration_s=1.0)
        self.state = SimpleNamespace(
            trigger=None, decided_mono=None, rollback=rollback, phase_result=lambda _: None
        )
        self.playbook = SimpleNamespace(
            measure_from="deploy", probes={"health": SimpleNamespace(healthy_after=healthy_after)}
        )
        self.ledger = SimpleNamespace(records=[])
        self.monitor = SimpleNamespace(
            deploy_started=10.0,
            verify_ended=30.0,
            probes=SimpleNamespace(log=ProbeLog(availability=samples)),
        )


def _measured(healthy_after: int) -> dict[str, Any]:
    figures: DrillFigures = _Run(healthy_after)._figures()  # type: ignore[misc]
    return figures.as_result()


@pytest.mark.parametrize("healthy_after", [1, 2, 3])
def test_a_final_streak_long_enough_for_the_probe_is_a_recovery(healthy_after: int) -> None:
    # Down from 11, back at 28: the RTO runs from the first failed sample to the return.
    assert _measured(healthy_after)["rto_s"] == pytest.approx(28.0 - 11.0)


@pytest.mark.parametrize("healthy_after", [4, 5])
def test_a_final_streak_shorter_than_the_probe_asks_is_no_recovery(healthy_after: int) -> None:
    measured = _measured(healthy_after)
    assert measured["rto_s"] is None
    assert measured["reasons"]["rto_s"] == (
        "health@web1: not recovered: the final healthy streak (to t=30.000) has 3 sample(s), "
        f"fewer than the {healthy_after} a recovery needs"
    )
