"""Drills judged by a real Prometheus (Debian's `prometheus`, started here on 127.0.0.1 with a
500 ms scrape and evaluation interval) scraping the lab service the drill starts.

The quick start with a Prometheus probe rolls back on the query's breach and measures an
RTO close to the service's own health probe; an alert firing in Prometheus starts the
rollback; a Prometheus that cannot be reached gives unknown samples, never downtime, and
the drill does not pass on them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.measure.figures import measure_drill
from runner.measure.probes import ProbeLog
from runner.measure.recovery import Measurement
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline
from tests.conftest import REPO, events, free_port, run_drillctl
from tests.lab.prometheus import (
    LAB_DOWN_RULES,
    SCRAPE_S,
    Monitored,
    Server,
    alertmanager,
    monitored,
    start_prometheus,
    stop,
)

pytestmark = pytest.mark.integration

EXAMPLE = REPO / "playbooks" / "prometheus-probe-drill.yml"
INVENTORY = "inventories/local.yml"
__all__ = ["alertmanager", "monitored"]


def run(playbook: Path, out: Path, lab_port: int, prometheus_url: str) -> dict[str, Any]:
    proc = run_drillctl(
        "run",
        str(playbook),
        "-i",
        INVENTORY,
        "-e",
        f"lab_port={lab_port}",
        "-e",
        f"prometheus_url={prometheus_url}",
        "--out",
        str(out),
        timeout=180,
    )
    result: dict[str, Any] = json.loads((out / "result.json").read_text())
    result["exit_code"] = proc.returncode
    result["output"] = proc.stdout + proc.stderr
    return result


def variant(tmp_path: Path, **changes: Any) -> Path:
    """The example playbook with some top-level keys replaced."""
    playbook = yaml.safe_load(EXAMPLE.read_text())
    playbook.update(changes)
    playbook.pop("inventory", None)
    path = tmp_path / "drill.yml"
    path.write_text(yaml.safe_dump(playbook, sort_keys=False))
    return path


def per_probe(run_dir: Path) -> dict[str, Measurement]:
    """Each probe instance's own figures, from the journal's samples and the runner's times."""
    log, times = ProbeLog(), None
    for e in events(run_dir):
        if e["event"] == "probe_samples":
            for t, ok, latency_ms, error in e["rows"]:
                latency = None if latency_ms is None else latency_ms / 1000
                sample = AvailabilitySample(e["probe"], t, ok is True, latency, error, ok is None)
                log.availability.append(sample)
        elif e["event"] == "run_measured":
            times = Timeline(**e["timeline"])
    assert times is not None
    return {m.probe or "": m for m in measure_drill(log, times).availability}


def test_the_quick_start_with_a_prometheus_probe_rolls_back_and_measures_rto(
    monitored: Monitored, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = run(EXAMPLE, out, monitored.lab_port, monitored.prometheus.url)
    assert result["exit_code"] == 0, result["output"]
    assert result["status"] == "passed", result["reason"]
    # The query's breach started the rollback, during deploy's watch.
    trigger = result["trigger"]
    assert (trigger["kind"], trigger["probe"], trigger["phase"]) == ("probe", "up", "deploy")
    assert "up: 2 consecutive failures" in trigger["detail"]
    assert result["measured"]["rto_s"] is not None
    assert result["verdicts"]["rto"] == "met"
    figures = per_probe(out)
    prom, health = figures["up@lab1"], figures["health@lab1"]
    assert prom.rto_s is not None and health.rto_s is not None
    assert prom.unknown_samples == 0
    # Prometheus sees each edge at most one scrape plus one query interval late, and the
    # health probe each edge at most one of its own intervals late.
    assert abs(prom.rto_s - health.rto_s) <= SCRAPE_S + 0.5 + 0.1 + 0.05, (prom, health)
    evidence = [e for e in events(out) if e["event"] == "trigger_evidence"]
    assert [e["probe"] for e in evidence] == ["up@lab1"]
    assert all(row[1] is False for row in evidence[0]["samples"])
    assert "lab_up" in evidence[0]["samples"][-1][3] or "no data" in evidence[0]["samples"][-1][3]


def test_an_alert_firing_in_prometheus_starts_the_rollback(
    monitored: Monitored, tmp_path: Path
) -> None:
    path = variant(
        tmp_path,
        triggers=[{"alert": "LabDown", "prometheus": "{{ prometheus }}", "every": "250ms"}],
    )
    out = tmp_path / "run"
    result = run(path, out, monitored.lab_port, monitored.prometheus.url)
    assert result["exit_code"] == 0, result["output"]
    assert result["status"] == "passed", result["reason"]
    trigger = result["trigger"]
    assert (trigger["kind"], trigger["probe"], trigger["phase"]) == (
        "alert",
        "alert:LabDown",
        "deploy",
    )
    assert 'alertname="LabDown"' in trigger["detail"]
    assert result["measured"]["time_to_detect_s"] is not None
    journal = events(out)
    states = [e["state"] for e in journal if e["event"] == "alert_state"]
    # Quiet while the known-good release ran, firing once v2 reported lab_up 0.
    assert states[0] == "quiet" and "firing" in states, states
    [evidence] = [e for e in journal if e["event"] == "trigger_evidence"]
    assert evidence["probe"] == "alert:LabDown" and evidence["samples"][0][1] is False


def test_an_alert_active_in_alertmanager_starts_the_rollback(
    alertmanager: Server, tmp_path: Path
) -> None:
    lab_port = free_port()
    prometheus = start_prometheus(
        tmp_path / "prometheus",
        [f"127.0.0.1:{lab_port}"],
        f"{SCRAPE_S * 1000:g}ms",
        LAB_DOWN_RULES,
        alertmanager=alertmanager.url.removeprefix("http://"),
    )
    try:
        path = variant(
            tmp_path,
            triggers=[{"alert": "LabDown", "alertmanager": alertmanager.url, "every": "250ms"}],
        )
        out = tmp_path / "run"
        result = run(path, out, lab_port, prometheus.url)
    finally:
        stop(prometheus)
    assert result["exit_code"] == 0, result["output"]
    trigger = result["trigger"]
    assert (trigger["kind"], trigger["probe"], trigger["phase"]) == (
        "alert",
        "alert:LabDown",
        "deploy",
    )
    assert "firing in alertmanager" in trigger["detail"]
    states = [e["state"] for e in events(out) if e["event"] == "alert_state"]
    assert states[0] == "quiet" and "firing" in states, states


def test_an_unreachable_prometheus_never_fires_an_alert_trigger(tmp_path: Path) -> None:
    """No Prometheus at all: the alert trigger polls nothing, records it and never fires;
    the rollback comes from the rehearsal, and the probe saw nothing, so no pass."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    path = variant(
        tmp_path,
        triggers=[{"alert": "LabDown", "prometheus": nowhere, "every": "250ms"}],
        deploy=[
            {
                "name": "deploy the new release",
                "command": "{{ lab }} start --state-dir {{ state_dir | quote }} --bind "
                "{{ bind }} --port {{ lab_port }} --version {{ bad }} --mode bad",
            },
            {"name": "watch it", "pause": "2s"},
        ],
        prepare=[yaml.safe_load(EXAMPLE.read_text())["prepare"][0]],
        verify=[yaml.safe_load(EXAMPLE.read_text())["verify"][0]],
    )
    out = tmp_path / "run"
    result = run(path, out, free_port(), nowhere)
    assert result["trigger"]["kind"] == "rehearsal", result["trigger"]
    journal = events(out)
    [state] = [e for e in journal if e["event"] == "alert_state"]
    assert state["state"] == "unreachable" and "refused" in state["detail"].lower()
    assert result["status"] == "failed" and result["exit_code"] == 1
    assert "availability not observed: every sample of up@lab1 was unknown" in result["reason"]


def test_a_prometheus_that_goes_away_gives_unknown_samples_not_downtime(
    monitored: Monitored, tmp_path: Path
) -> None:
    """Prometheus is killed during deploy: what follows is unknown, not an outage, and a
    recovery no healthy sample confirms is no recovery: the drill does not pass."""
    example = yaml.safe_load(EXAMPLE.read_text())
    path = variant(
        tmp_path,
        triggers=["step_failed"],
        deploy=[
            example["deploy"][0],
            {"name": "Prometheus sees the broken release", "pause": "2s"},
            {"name": "Prometheus goes away", "command": f"kill {monitored.prometheus.process.pid}"},
            {"name": "the new release is healthy", "http": {"url": "{{ url }}/health"}},
        ],
        verify=[example["verify"][0]],
    )
    out = tmp_path / "run"
    result = run(path, out, monitored.lab_port, monitored.prometheus.url)
    assert result["trigger"]["kind"] == "step_failed", result["trigger"]
    assert result["rollback_succeeded"] is True
    assert result["status"] == "failed" and result["exit_code"] == 1, result["reason"]
    prom = per_probe(out)["up@lab1"]
    assert prom.incident_start is not None  # it saw the broken release fail...
    assert prom.recovered_at is None and prom.rto_s is None  # ...and never saw it recover
    assert "only unknown samples" in result["measured"]["reasons"]["rto_s"]
    assert (
        result["reason"]
        == "no recovery observed by up@lab1: only unknown samples after the incident"
    )
    assert prom.unknown_samples > 0
    # Unknown time is not downtime: the downtime is the failures seen before the kill, and
    # everything from the first unknown sample to the window's close is unknown time.
    rows = [
        row
        for e in events(out)
        if e["event"] == "probe_samples" and e["probe"] == "up@lab1"
        for row in e["rows"]
        if prom.window_opens <= row[0] <= prom.window_closes
    ]
    first_failed = min(t for t, ok, *_ in rows if ok is False)
    first_unknown = min(t for t, ok, *_ in rows if ok is None)
    assert all(ok is None for t, ok, *_ in rows if t >= first_unknown)
    assert prom.downtime_s is not None and prom.downtime_s > 0
    assert prom.downtime_s <= first_unknown - first_failed + 1e-6
    assert prom.unknown_s == pytest.approx(prom.window_closes - first_unknown, abs=1e-6)
    strip = next(a for a in result["availability"] if a["probe"] == "up@lab1")
    verdicts = [run[2] for run in strip["runs"]]
    assert None in verdicts and False in verdicts and verdicts[-1] is None, verdicts
    assert strip["unknown_samples"] == prom.unknown_samples
    assert "unknown" in (out / "report.html").read_text()
