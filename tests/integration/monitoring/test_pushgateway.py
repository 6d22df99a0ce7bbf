"""A run's figures pushed to a real Pushgateway: measured figures present, unmeasured absent."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from runner.report.pushgateway import PushError, push_run
from tests.conftest import free_port, run_quickstart
from tests.lab.prometheus import Server, pushgateway

pytestmark = pytest.mark.integration
__all__ = ["pushgateway"]


def gateway_samples(server: Server) -> dict[str, float]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("drillctl_run_"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


RESULT = {
    "drill": "gw rollback",
    "component": "order-gateway",
    "environment": "staging",
    "status": "failed",
    "ended_at": "2026-12-01T09:00:00.000Z",
    "duration_s": 12.5,
    "measured": {"rto_s": 3.25, "lost_writes": 0, "rpo_s": None, "time_to_rollback_s": 1.5},
    "verdicts": {"rto": "met", "rpo": "not measured", "budget": "missed"},
}


def _key(name: str, **labels: str) -> str:
    base = {
        "component": "order-gateway",
        "drill": "gw rollback",
        "environment": "staging",
        "instance": "",
        "job": "drillctl",
        **labels,
    }
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(base.items())) + "}"


def test_measured_figures_are_pushed_and_unmeasured_ones_are_absent(pushgateway: Server) -> None:
    push_run(RESULT, pushgateway.url)
    samples = gateway_samples(pushgateway)
    assert samples[_key("drillctl_run_passed")] == 0.0
    assert samples[_key("drillctl_run_status", status="failed")] == 1.0
    assert samples[_key("drillctl_run_rto_seconds")] == 3.25
    assert samples[_key("drillctl_run_lost_writes")] == 0.0
    assert samples[_key("drillctl_run_duration_seconds")] == 12.5
    assert samples[_key("drillctl_run_objective_met", objective="rto")] == 1.0
    assert samples[_key("drillctl_run_objective_met", objective="budget")] == 0.0
    # Not measured: no sample at all, never a 0.
    assert not any("rpo_seconds" in k for k in samples)
    assert not any('objective="rpo"' in k for k in samples)
    assert not any("downtime_seconds" in k for k in samples)


def test_a_gateway_that_is_not_there_is_a_push_error_within_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(PushError, match="could not push"):
        push_run(RESULT, f"http://127.0.0.1:{free_port()}", timeout_s=2)
    assert time.monotonic() - started < 3


def test_the_quick_start_pushes_its_figures_when_asked(pushgateway: Server, tmp_path: Path) -> None:
    done = run_quickstart(tmp_path / "run", "--pushgateway", pushgateway.url)
    assert done.returncode == 0, done.stdout + done.stderr
    samples = gateway_samples(pushgateway)
    rto = [v for k, v in samples.items() if k.startswith("drillctl_run_rto_seconds{")]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert rto == [result["measured"]["rto_s"]]
    assert any(k.startswith("drillctl_run_passed{") and v == 1.0 for k, v in samples.items())
