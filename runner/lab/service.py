"""The lab service: a tiny HTTP app with a health check and a durable ledger.

Stdlib only and no imports from the rest of `runner`: it must run wherever a bare Python does
(SSH lab hosts, containers). Its command line lives in `runner.cli.lab`; its endpoints in
runner/lab/endpoints.py.

`GET /metrics` exposes Prometheus metrics (runner/lab/metrics.py; needs prometheus-client).

The `/admin/*` endpoints make it a source of ground truth for measuring the measurements:
`POST /admin/outage?seconds=D` fails `/health` for exactly D seconds, `POST /admin/lose?count=K`
deletes the K newest acknowledged ledger records, and `GET /admin/truth` tells when and what.
Times are `time.monotonic()` of this process (and wall time beside it). On Linux that is
CLOCK_MONOTONIC, one clock for the whole machine: a drill runner on the same machine reads the
same clock, so its sample times and this truth can be compared directly, not only as durations.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import FrameType

from runner.lab.endpoints import InFlight, LabHandler, log
from runner.lab.ledger import Ledger
from runner.lab.metrics import LabMetrics
from runner.lab.truth import GroundTruth

MODES = ("good", "bad", "slow")


@dataclass(frozen=True)
class LabConfig:
    """How one lab service instance runs: address, release under test and its behaviour."""

    port: int
    version: str
    db: Path
    bind: str = "127.0.0.1"
    mode: str = "good"
    slow_ms: int = 200
    verbose: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, not {self.port}")
        if self.slow_ms < 0:
            raise ValueError(f"slow_ms must be >= 0, not {self.slow_ms}")

    @property
    def url(self) -> str:
        return service_url(self.bind, self.port)

    def argv(self) -> list[str]:
        """The `serve` arguments that reproduce this configuration."""
        args = ["--bind", self.bind, "--port", str(self.port), "--version", self.version]
        args += ["--mode", self.mode, "--db", str(self.db), "--slow-ms", str(self.slow_ms)]
        return [*args, "--verbose"] if self.verbose else args


def address_family(bind: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in bind else socket.AF_INET


def client_host(bind: str) -> str:
    """The address a client on this machine connects to for a service bound to `bind`."""
    # A wildcard bind is reachable on loopback; clients cannot connect to the wildcard itself.
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(bind, bind)


def service_url(bind: str, port: int) -> str:
    host = client_host(bind)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class CannotServe(Exception):
    """The service cannot start: the port is taken or the ledger cannot be opened."""


class LabServer(ThreadingHTTPServer):
    """Threading HTTP server that carries the configuration and ledger to its handlers."""

    # socketserver's default backlog of 5 resets connections when a drill's probes burst.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, config: LabConfig, ledger: Ledger) -> None:
        self.address_family = address_family(config.bind)
        self.config = config
        self.ledger = ledger
        self.truth = GroundTruth()
        self.in_flight = InFlight()
        self.metrics = LabMetrics(config.version, config.mode, self.healthy)
        super().__init__((config.bind, config.port), LabHandler)

    def healthy(self) -> bool:
        """Whether /health answers 200 at this moment."""
        return self.failing_reason() is None

    def failing_reason(self) -> str | None:
        """Why /health fails at this moment, or None while it answers 200."""
        # The clock is read once, here: the answer is the state at the moment of asking.
        now = time.monotonic()
        if self.config.mode == "bad":
            return f"release {self.config.version} is broken (started with --mode bad)"
        outage = self.truth.outage_at(now)
        if outage is not None:
            return f"admin outage of {outage.seconds:g}s, {outage.end_mono - now:.3f}s left"
        return None


def _stop_on_signals(server: LabServer) -> None:
    def request_shutdown(signum: int, _frame: FrameType | None) -> None:
        log(f"received {signal.Signals(signum).name}, shutting down")
        # shutdown() waits for serve_forever(), which runs in this very thread: hand it off.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, request_shutdown)
    signal.signal(signal.SIGINT, request_shutdown)


def _open(config: LabConfig) -> LabServer:
    try:
        ledger = Ledger(config.db)
    except (sqlite3.Error, OSError) as exc:
        raise CannotServe(f"cannot open ledger {config.db}: {exc}") from None
    try:
        return LabServer(config, ledger)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CannotServe(f"port {config.port} on {config.bind} is already in use") from None
        reason = exc.strerror or str(exc)
        raise CannotServe(f"cannot listen on {config.bind}:{config.port}: {reason}") from None


def serve(config: LabConfig) -> int:
    """Run the service in the foreground until SIGTERM or SIGINT; 0 on a clean stop."""
    try:
        server = _open(config)
    except CannotServe as exc:
        log(str(exc))
        return 1
    _stop_on_signals(server)
    log(
        f"v{config.version} ({config.mode}) listening on {config.url}, "
        f"ledger {config.db}, pid {os.getpid()}"
    )
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        # Answers already being written (and their ledger commits) finish before we exit.
        if not server.in_flight.wait_idle(timeout=3.0):
            log("gave up waiting for requests in flight")
        server.server_close()
        try:
            server.ledger.store_acks()
        except sqlite3.Error as exc:
            log(f"could not store the last ack times: {exc}")
    log("stopped")
    return 0
