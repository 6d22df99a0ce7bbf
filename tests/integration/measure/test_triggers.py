"""Acceptance: each trigger kind fires when its condition comes true, and only then."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import events, run_drillctl

pytestmark = pytest.mark.integration


def drill(tmp_path: Path, probe: str, trigger: str, deploy: str) -> Path:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: triggers\nrollback_type: 2\nrollback_when: failure\n"
        # The service recovers once rolled back, so a drill that rolls back can pass.
        f'probes:\n  health:\n    command: "test -e {tmp_path}/rolled-back || {{ {probe}; }}"\n'
        "    every: 100ms\n"
        f"triggers:\n  - {trigger}\n"
        f'deploy:\n  - name: change\n    shell: "{deploy}"\n'
        f'rollback:\n  - shell: "rm -f {tmp_path}/down; touch {tmp_path}/rolled-back"\n'
    )
    return playbook


def run(
    tmp_path: Path, playbook: Path, *, recovers: bool = True
) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    out = tmp_path / "run"
    started = time.monotonic()
    proc = run_drillctl("run", str(playbook), "--out", str(out))
    took = time.monotonic() - started
    if recovers:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    else:  # degraded, and nothing rolled it back: the drill has failed, and says why
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "no lasting recovery" in proc.stdout
    return json.loads((out / "result.json").read_text()), events(out), took


def test_consecutive_failures_fire_stop_the_change_and_start_the_rollback(tmp_path: Path) -> None:
    playbook = drill(
        tmp_path,
        probe=f"test ! -e {tmp_path}/down",
        trigger="{probe: health, consecutive_failures: 3}",
        deploy=f"touch {tmp_path}/down; sleep 20",
    )
    result, log, took = run(tmp_path, playbook)
    assert took < 10, "the trigger should have stopped the 20 s deploy step"
    assert result["trigger"]["kind"] == "probe" and result["trigger"]["probe"] == "health"
    assert "3 consecutive failures" in result["trigger"]["detail"]
    assert (tmp_path / "rolled-back").exists()
    # No verify step ran: the drill passes on the probe's word that the service came back.
    assert result["reason"].endswith("the availability probes saw the service healthy afterwards")
    evidence = next(e for e in log if e["event"] == "trigger_evidence")
    assert len(evidence["samples"]) == 3 and not any(s[1] for s in evidence["samples"])
    assert result["measured"]["time_to_detect_s"] is not None
    assert 0.15 <= result["measured"]["time_to_detect_s"] <= 1.0


def test_consecutive_failures_do_not_fire_on_fewer_failures(tmp_path: Path) -> None:
    playbook = drill(
        tmp_path,
        probe=f"test ! -e {tmp_path}/down",
        trigger="{probe: health, consecutive_failures: 30}",
        deploy=f"touch {tmp_path}/down; sleep 1; rm {tmp_path}/down",
    )
    result, log, _ = run(tmp_path, playbook)
    assert result["trigger"] is None
    assert result["rolled_back"] is False
    assert not any(e["event"] == "trigger_fired" for e in log)


COUNTER_PROBE = (
    "n=$(cat {d}/count 2>/dev/null || echo 0); echo $((n+1)) > {d}/count; test $((n % {m})) -ne 0"
)


@pytest.mark.parametrize(("rate", "fires"), [(0.3, True), (0.7, False)])
def test_error_rate_over_a_window(tmp_path: Path, rate: float, fires: bool) -> None:
    # Every second sample fails: a 50 % error rate, whatever the timing.
    playbook = drill(
        tmp_path,
        probe=COUNTER_PROBE.format(d=tmp_path, m=2),
        trigger=f"{{probe: health, error_rate: {rate}, window: 1s}}",
        deploy="sleep 2.5",
    )
    result, _, _ = run(tmp_path, playbook, recovers=fires)
    if fires:
        assert result["trigger"]["kind"] == "probe"
        assert "error rate" in result["trigger"]["detail"]
    else:
        assert result["trigger"] is None


@pytest.mark.parametrize(("above", "fires"), [("150ms", True), ("2s", False)])
def test_latency_percentile_over_a_window(tmp_path: Path, above: str, fires: bool) -> None:
    playbook = drill(
        tmp_path,
        probe="sleep 0.3",
        trigger=f"{{probe: health, latency_p: 90, above: {above}, window: 1s}}",
        deploy="sleep 2.5",
    )
    result, _, _ = run(tmp_path, playbook)
    if fires:
        assert result["trigger"]["kind"] == "probe" and "latency" in result["trigger"]["detail"]
    else:
        assert result["trigger"] is None


@pytest.mark.parametrize(("deploy", "fires"), [("exit 3", True), ("true", False)])
def test_step_failed(tmp_path: Path, deploy: str, fires: bool) -> None:
    playbook = drill(tmp_path, probe="true", trigger="step_failed", deploy=deploy)
    result, _, _ = run(tmp_path, playbook)
    assert (result["trigger"] is not None and result["trigger"]["kind"] == "step_failed") == fires
    assert result["rolled_back"] is fires
