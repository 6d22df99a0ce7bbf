"""The `measured` block of a drill without probes (only its own decision and rollback times,
every other figure null with its reason), and the baseline verdict over the probes."""

from __future__ import annotations

from runner.measure.baseline import BaselineComparison
from runner.measure.figures import (
    NO_PROBES,
    DrillFigures,
    baseline_verdict,
    measured_without_probes,
)

NOT_PROBED = ("time_to_detect_s", "rto_s", "downtime_s", "lost_writes", "rpo_s", "resolution_s")


def test_a_drill_without_probes_measures_its_own_times_to_the_millisecond() -> None:
    measured = measured_without_probes(0.12345, 2.5006)
    assert (measured["time_to_decide_s"], measured["time_to_rollback_s"]) == (0.123, 2.501)
    assert measured["rpo_lower_bound"] is None
    assert measured["reasons"] == dict.fromkeys(NOT_PROBED, NO_PROBES)
    assert all(measured[name] is None for name in NOT_PROBED)


def test_a_drill_time_not_recorded_is_null_with_its_reason() -> None:
    measured = measured_without_probes(None, None)
    assert (measured["time_to_decide_s"], measured["time_to_rollback_s"]) == (None, None)
    assert measured["reasons"] == {
        **dict.fromkeys(NOT_PROBED, NO_PROBES),
        "time_to_decide_s": "not measured: no trigger and decision were recorded",
        "time_to_rollback_s": "not measured: no rollback ran",
    }


def test_each_drill_time_has_its_own_reason() -> None:
    decided_only = measured_without_probes(0.0, None)
    assert decided_only["time_to_decide_s"] == 0.0
    assert "time_to_decide_s" not in decided_only["reasons"]
    assert decided_only["reasons"]["time_to_rollback_s"] == "not measured: no rollback ran"
    rolled_back_only = measured_without_probes(None, 0.0)
    assert rolled_back_only["time_to_rollback_s"] == 0.0
    assert "time_to_rollback_s" not in rolled_back_only["reasons"]
    assert rolled_back_only["reasons"]["time_to_decide_s"] == (
        "not measured: no trigger and decision were recorded"
    )


def comparison(slower: bool | None) -> BaselineComparison:
    return BaselineComparison(20, 20, 0.01, 0.02, 2.0, 0.001, slower)


def test_the_baseline_is_met_only_when_every_probe_is_back_to_it() -> None:
    def verdict(*slower: bool | None) -> str | None:
        figures = DrillFigures(
            baseline=tuple((f"up@h{i}", comparison(s)) for i, s in enumerate(slower))
        )
        return baseline_verdict(figures)

    assert verdict(False, False) == "met"
    assert verdict(False, True) == "missed"
    assert verdict(None, True) == "missed"
    assert verdict(False, None) is None  # one probe not judged: the baseline is not proven
    assert verdict(None) is None
    assert verdict() is None
    assert baseline_verdict(None) is None
