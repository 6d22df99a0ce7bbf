"""The lab service: a tiny HTTP app with a health check and a durable ledger.

Stdlib only and no imports from the rest of `runner`: it must run wherever a bare Python does
(SSH lab hosts, containers). Its command line lives in `runner.cli.lab`.

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
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import cast
from urllib.parse import parse_qs, urlsplit

from runner.lab.ledger import Ledger
from runner.lab.metrics import CONTENT_TYPE, LabMetrics
from runner.lab.truth import Body, GroundTruth

MODES = ("good", "bad", "slow")
MAX_BODY_BYTES = 64 * 1024
# SQLite INTEGER PRIMARY KEY is a signed 64-bit rowid.
MAX_SEQ = 2**63 - 1
# An admin outage longer than a day is a typo, not a drill.
MAX_OUTAGE_S = 86_400.0

Reply = tuple[int, Body]


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


class InFlight:
    """Counts requests being answered so shutdown can let them finish."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._idle:
            self._count += 1
        try:
            yield
        finally:
            with self._idle:
                self._count -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


class BadRequest(Exception):
    """The client sent something we cannot use: answered with 400 and this message."""


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


class LabHandler(BaseHTTPRequestHandler):
    """Routes the lab endpoints; every answer is JSON."""

    server_version = "drillctl-lab"
    # A client that connects and sends nothing must not hold a thread forever.
    timeout = 10.0

    @property
    def lab(self) -> LabServer:
        return cast(LabServer, self.server)

    def version_string(self) -> str:
        # Without the Python version the stdlib would advertise.
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _routes(self) -> dict[str, dict[str, Callable[[str], Reply]]]:
        return {
            "/health": {"GET": self._health},
            "/version": {"GET": self._version},
            "/ledger": {"GET": self._read_ledger, "POST": self._write_ledger},
            "/admin/outage": {"POST": self._start_outage},
            "/admin/lose": {"POST": self._lose},
            "/admin/truth": {"GET": self._truth},
        }

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        if url.path == "/metrics" and method == "GET":  # text, not JSON: answered apart
            self._reply_metrics()
            return
        methods = self._routes().get(url.path)
        if methods is None:
            self._reply(404, {"error": f"no such endpoint: {url.path}"})
            return
        endpoint = methods.get(method)
        if endpoint is None:
            allowed = ", ".join(methods)
            self._reply(405, {"error": f"{url.path} accepts {allowed}"}, {"Allow": allowed})
            return
        with self.lab.in_flight.request():
            started = time.monotonic()
            # Ground-truth controls act when asked, whatever the release under test does.
            if self.lab.config.mode == "slow" and not url.path.startswith("/admin/"):
                time.sleep(self.lab.config.slow_ms / 1000)
            status, body = self._answer(endpoint, url.query)
            self.lab.metrics.observe(url.path, status, time.monotonic() - started)
            self._reply(status, body)

    def _answer(self, endpoint: Callable[[str], Reply], query: str) -> Reply:
        try:
            return endpoint(query)
        except BadRequest as exc:
            return 400, {"error": str(exc)}
        except sqlite3.Error as exc:
            self.log_error("ledger error: %s", exc)
            return 500, {"error": f"ledger error: {exc}"}

    def _health(self, _query: str) -> Reply:
        version = self.lab.config.version
        reason = self.lab.failing_reason()
        if reason is not None:
            return 503, {"status": "failing", "version": version, "reason": reason}
        return 200, {"status": "ok", "version": version}

    def _version(self, _query: str) -> Reply:
        return 200, {"version": self.lab.config.version, "mode": self.lab.config.mode}

    def _read_ledger(self, _query: str) -> Reply:
        seqs = self.lab.ledger.seqs()
        return 200, {"seqs": seqs, "count": len(seqs)}

    def _write_ledger(self, query: str) -> Reply:
        seq = self._requested_seq(query)
        if self.lab.ledger.write(seq):
            return 200, {"seq": seq, "ack": True}
        return 200, {"seq": seq, "ack": True, "duplicate": True}

    def _start_outage(self, query: str) -> Reply:
        seconds = _query_number(query, "seconds", MAX_OUTAGE_S)
        outage = self.lab.truth.start_outage(seconds)
        _log(f"admin outage: /health fails for {seconds:g}s")
        return 200, outage.as_json()

    def _lose(self, query: str) -> Reply:
        count = int(_query_number(query, "count", MAX_SEQ, whole=True))
        loss = self.lab.ledger.lose(count)
        self.lab.truth.record_loss(loss)
        _log(f"admin lose: deleted {len(loss.lost)} of the newest acknowledged records")
        return 200, loss.as_json()

    def _truth(self, _query: str) -> Reply:
        return 200, self.lab.truth.as_json()

    def _reply_metrics(self) -> None:
        text = self.lab.metrics.render()
        if text is None:
            self._reply(
                501, {"error": "metrics need prometheus-client: pip install prometheus-client"}
            )
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _requested_seq(self, query: str) -> int:
        from_query = parse_qs(query).get("seq")
        if from_query:
            if not from_query[0].isdigit():
                raise BadRequest(f"seq must be a non-negative integer, not {from_query[0]!r}")
            return _checked_seq(int(from_query[0]))
        document = self._json_body()
        if not isinstance(document, dict) or "seq" not in document:
            raise BadRequest('send a JSON object like {"seq": 1}, or ?seq=1')
        seq = document["seq"]
        # bool is an int in Python, but `true` is not a sequence number.
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise BadRequest(f"seq must be a non-negative integer, not {json.dumps(seq)}")
        return _checked_seq(seq)

    def _json_body(self) -> object:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None
        if not 0 < length <= MAX_BODY_BYTES:
            raise BadRequest(f'send a JSON body of 1-{MAX_BODY_BYTES} bytes like {{"seq": 1}}')
        try:
            return json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(f'body is not JSON ({exc}); send {{"seq": 1}}') from None

    def _reply(self, status: int, body: Body, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() + b"\n"
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # Probes give up on slow answers; that is their measurement, not our error.
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.lab.config.verbose:
            super().log_request(code, size)


def _checked_seq(seq: int) -> int:
    if not 0 <= seq <= MAX_SEQ:
        raise BadRequest(f"seq must be between 0 and {MAX_SEQ}, not {seq}")
    return seq


def _query_number(query: str, name: str, limit: float, *, whole: bool = False) -> float:
    """The number `?name=` carries: >= 0 and <= `limit`, and whole when `whole` is set."""
    values = parse_qs(query).get(name)
    kind = "whole number" if whole else "number"
    if not values:
        raise BadRequest(f"give ?{name}= a {kind} >= 0")
    text = values[0]
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a {kind} >= 0, not {text!r}") from None
    if not 0 <= value <= limit:  # also refuses nan
        raise BadRequest(f"{name} must be between 0 and {limit:g}, not {text}")
    return value


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(f"{stamp} lab: {message}", file=sys.stderr, flush=True)


def _stop_on_signals(server: LabServer) -> None:
    def request_shutdown(signum: int, _frame: FrameType | None) -> None:
        _log(f"received {signal.Signals(signum).name}, shutting down")
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
        _log(str(exc))
        return 1
    _stop_on_signals(server)
    _log(
        f"v{config.version} ({config.mode}) listening on {config.url}, "
        f"ledger {config.db}, pid {os.getpid()}"
    )
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        # Answers already being written (and their ledger commits) finish before we exit.
        if not server.in_flight.wait_idle(timeout=3.0):
            _log("gave up waiting for requests in flight")
        server.server_close()
        try:
            server.ledger.store_acks()
        except sqlite3.Error as exc:
            _log(f"could not store the last ack times: {exc}")
    _log("stopped")
    return 0
