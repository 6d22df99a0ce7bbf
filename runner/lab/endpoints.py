"""The lab service's HTTP endpoints: health, version, the ledger, Prometheus metrics and the
`/admin/*` ground-truth controls (runner/lab/service.py runs the server they answer on).

Stdlib only and no imports from the rest of `runner` but the lab's own modules: the lab
service must run wherever a bare Python does. Every answer is JSON but `/metrics`.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Protocol, cast
from urllib.parse import parse_qs, urlsplit

from runner.lab.ledger import Ledger
from runner.lab.metrics import CONTENT_TYPE, LabMetrics
from runner.lab.truth import Body, GroundTruth

MAX_BODY_BYTES = 64 * 1024
# SQLite INTEGER PRIMARY KEY is a signed 64-bit rowid.
MAX_SEQ = 2**63 - 1
# An admin outage longer than a day is a typo, not a drill.
MAX_OUTAGE_S = 86_400.0

Reply = tuple[int, Body]


class ReleaseSettings(Protocol):
    """What the endpoints read of the lab's configuration."""

    @property
    def version(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def slow_ms(self) -> int: ...
    @property
    def verbose(self) -> bool: ...


class LabApp(Protocol):
    """The server the endpoints answer for: its release, ledger, truth and metrics."""

    @property
    def config(self) -> ReleaseSettings: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def truth(self) -> GroundTruth: ...
    @property
    def metrics(self) -> LabMetrics: ...
    @property
    def in_flight(self) -> InFlight: ...
    def failing_reason(self) -> str | None: ...


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


class LabHandler(BaseHTTPRequestHandler):
    """Routes the lab endpoints; every answer is JSON."""

    server_version = "drillctl-lab"
    # A client that connects and sends nothing must not hold a thread forever.
    timeout = 10.0

    @property
    def lab(self) -> LabApp:
        return cast(LabApp, self.server)

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
        log(f"admin outage: /health fails for {seconds:g}s")
        return 200, outage.as_json()

    def _lose(self, query: str) -> Reply:
        count = int(_query_number(query, "count", MAX_SEQ, whole=True))
        loss = self.lab.ledger.lose(count)
        self.lab.truth.record_loss(loss)
        log(f"admin lose: deleted {len(loss.lost)} of the newest acknowledged records")
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


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(f"{stamp} lab: {message}", file=sys.stderr, flush=True)
