"""The lab service's /metrics: Prometheus text that follows what /health answers."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.lab import control
from tests.conftest import free_port

pytestmark = pytest.mark.integration
pytest.importorskip("prometheus_client")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    control.start(tmp_path / "lab", port=port, version="7")
    yield port
    control.stop(tmp_path / "lab")


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def hit(url: str, method: str = "GET") -> None:
    try:
        urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5).close()
    except urllib.error.HTTPError as error:
        error.close()


def test_lab_up_follows_health_through_an_outage_and_back(lab: int) -> None:
    assert scrape(lab)["lab_up"] == 1.0
    hit(f"http://127.0.0.1:{lab}/admin/outage?seconds=0.6", "POST")
    assert scrape(lab)["lab_up"] == 0.0
    time.sleep(0.8)
    assert scrape(lab)["lab_up"] == 1.0


def test_requests_are_counted_by_endpoint_and_status_and_the_build_is_labelled(lab: int) -> None:
    for _ in range(3):
        hit(f"http://127.0.0.1:{lab}/health")
    hit(f"http://127.0.0.1:{lab}/admin/outage?seconds=5", "POST")
    hit(f"http://127.0.0.1:{lab}/health")
    samples = scrape(lab)
    assert samples['lab_requests_total{code="200",path="/health"}'] == 3.0
    assert samples['lab_requests_total{code="503",path="/health"}'] == 1.0
    assert samples['lab_build_info{mode="good",version="7"}'] == 1.0
    assert samples['lab_request_duration_seconds_count{path="/health"}'] == 4.0
