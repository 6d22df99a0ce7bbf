"""The lab service's `/metrics`, in Prometheus' text format, made with prometheus-client.

So a drill on the lab can judge with a Prometheus probe, as teams judge with their own
monitoring: `lab_up` is 1 while `/health` would answer 200, `lab_requests_total` counts
answers by endpoint and status, `lab_request_duration_seconds` times them. prometheus-client
is optional here (the lab runs wherever a bare Python does): without it `/metrics` answers
501 and says what to install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LabMetrics:
    """One lab instance's metrics; `render()` is None when prometheus-client is missing."""

    def __init__(self, version: str, mode: str, healthy: Callable[[], bool]) -> None:
        try:
            import prometheus_client as prom
        except ImportError:
            self._prom: Any = None
            return
        self._prom = prom
        self.registry = prom.CollectorRegistry(auto_describe=True)
        self.requests = prom.Counter(
            "lab_requests",
            "Requests answered, by endpoint and HTTP status.",
            ["path", "code"],
            registry=self.registry,
        )
        self.latency = prom.Histogram(
            "lab_request_duration_seconds",
            "Time to answer a request, by endpoint.",
            ["path"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        up = prom.Gauge("lab_up", "1 while /health answers 200, else 0.", registry=self.registry)
        up.set_function(lambda: 1.0 if healthy() else 0.0)
        build = prom.Gauge(
            "lab_build_info",
            "The release this instance runs (always 1).",
            ["version", "mode"],
            registry=self.registry,
        )
        build.labels(version=version, mode=mode).set(1)

    def observe(self, path: str, code: int, seconds: float) -> None:
        if self._prom is None:
            return
        self.requests.labels(path=path, code=str(code)).inc()
        self.latency.labels(path=path).observe(seconds)

    def render(self) -> bytes | None:
        if self._prom is None:
            return None
        return bytes(self._prom.generate_latest(self.registry))
