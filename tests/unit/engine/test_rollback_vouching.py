"""Which probe instances may vouch for a rollback no verify step checked, and what the
verdict says of those that may not: each by its own label, word for word.

An instance vouches only with a sample inside the measured window that shows the service
healthy (recovered, or never down) and a healthy last sample taken once the rollback ended.
"""

from __future__ import annotations

import pytest

from runner.engine.results import PhaseResult
from runner.engine.verdict import unverified_rollback_verdict
from runner.measure.figures import DrillFigures, measure_drill
from runner.measure.probes import ProbeLog
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline

ROLLBACK = PhaseResult("rollback", (), "", started_mono=1.0, duration_s=1.0)  # ends at t=2
UNVERIFIED = "rolled back, but nothing verified it: no verify step ran, and "
PASSED = (
    "rolled back in 1.00s; no verify step ran, and the availability probes saw the service "
    "healthy afterwards"
)


def figures(
    samples: dict[str, list[tuple[float, bool]]], verify_ended: float | None = None
) -> DrillFigures:
    """Figures of several instances from (t, healthy) samples; the change began at t=0."""
    log = ProbeLog(
        availability=[
            AvailabilitySample(label, t, ok, 0.01)
            for label, series in samples.items()
            for t, ok in series
        ]
    )
    times = Timeline(
        deploy_started=0.0, rollback_started=1.0, rollback_ended=2.0, verify_ended=verify_ended
    )
    return measure_drill(log, times, {"health": 2})


def test_the_verdict_names_the_one_instance_that_did_not_see_the_service_back() -> None:
    got = unverified_rollback_verdict(
        ROLLBACK,
        figures(
            {
                "health@web1": [(0.5, True), (2.5, True)],
                "health@web2": [(0.5, True), (2.5, False)],
            }
        ),
    )
    assert got == (
        "failed",
        UNVERIFIED + "the availability probe health@web2 did not see the service healthy "
        "afterwards",
    )


def test_the_verdict_names_every_instance_that_did_not_see_the_service_back() -> None:
    got = unverified_rollback_verdict(
        ROLLBACK,
        figures(
            {
                "health@web1": [(0.5, True), (1.5, True)],  # nothing after the rollback
                "health@web2": [(0.5, True), (2.5, False)],  # down after it
                "health@web3": [(0.5, True), (2.5, True)],  # vouches
            }
        ),
    )
    assert got == (
        "failed",
        UNVERIFIED + "the availability probe health@web1, health@web2 did not see the service "
        "healthy afterwards",
    )


@pytest.mark.parametrize(
    ("samples", "status"),
    [
        pytest.param([(2.0, True)], "passed", id="one-healthy-sample-at-the-rollbacks-end"),
        pytest.param([(2.0, False)], "failed", id="one-failed-sample-at-the-rollbacks-end"),
    ],
)
def test_a_single_sample_in_the_window_is_enough_to_vouch_when_it_is_healthy(
    samples: list[tuple[float, bool]], status: str
) -> None:
    got, reason = unverified_rollback_verdict(ROLLBACK, figures({"health": samples}))
    assert got == status
    if status == "passed":
        assert reason == PASSED
    else:
        assert reason.startswith(UNVERIFIED)


def test_a_healthy_sample_after_the_window_closed_does_not_vouch() -> None:
    # Verify ended at 2.5: the sample at 3.0 is outside the measured window, no evidence,
    # although it is healthy and after the rollback. No sample in the window: no word.
    outside = figures({"health": [(3.0, True)]}, verify_ended=2.5)
    assert outside.availability[0].samples == 0
    assert unverified_rollback_verdict(ROLLBACK, outside) == (
        "failed",
        UNVERIFIED + "the availability probe health did not see the service healthy afterwards",
    )
    # The same sample inside the window vouches.
    inside = figures({"health": [(3.0, True)]}, verify_ended=3.0)
    assert unverified_rollback_verdict(ROLLBACK, inside) == ("passed", PASSED)
