"""drillctl's measurements against ground truth: a short run of bench/accuracy.py.

One drill against the lab service: `/health` fails for exactly 1 s, then the service deletes
its 5 newest acknowledged writes and says when and which (`/admin/truth`). What drillctl
measured must match what happened within the issue's bounds, never wider.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import accuracy  # bench/ holds scripts, not a package

pytestmark = pytest.mark.integration

CASE = accuracy.Case(outage_s=1.0, lose=5, interval_s=0.1, write_interval_s=0.05)


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> accuracy.Comparison:
    observation = accuracy.run_case(CASE, tmp_path_factory.mktemp("accuracy"))
    assert observation.exit_code == 0, f"the drill did not pass: see {observation.run_dir}"
    comparison = accuracy.compare(observation)
    accuracy.print_tables([comparison])  # shown with -s, and with any failure
    return comparison


def test_the_service_caused_exactly_the_incident_asked_for(measured: accuracy.Comparison) -> None:
    assert measured.true_outage_s == pytest.approx(CASE.outage_s)
    assert measured.true_lost == CASE.lose


def test_measured_rto_is_within_one_probe_interval_of_the_true_outage(
    measured: accuracy.Comparison,
) -> None:
    assert measured.rto_error_s is not None, "RTO not measured"
    assert abs(measured.rto_error_s) <= CASE.rto_bound_s + 0.0005  # result.json rounds to ms


def test_measured_downtime_is_within_one_probe_interval_of_the_true_outage(
    measured: accuracy.Comparison,
) -> None:
    assert measured.downtime_error_s is not None, "downtime not measured"
    assert abs(measured.downtime_error_s) <= CASE.rto_bound_s + 0.0005


def test_measured_lost_writes_are_exactly_the_writes_the_service_deleted(
    measured: accuracy.Comparison,
) -> None:
    assert measured.lost_writes == CASE.lose


def test_measured_rpo_is_within_one_write_interval_of_the_true_rpo(
    measured: accuracy.Comparison,
) -> None:
    assert measured.true_rpo_s is not None and measured.true_rpo_s > 0
    assert measured.rpo_error_s is not None, "RPO not measured"
    assert abs(measured.rpo_error_s) <= CASE.rpo_bound_s + 0.0005
