"""Notifications through Apprise to real local receivers: an SMTP server (aiosmtpd) and an
HTTP endpoint (Apprise's generic JSON webhook), both on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runner.notify.dispatch import Notifier
from runner.notify.plan import parse_notify
from runner.secrets import SecretMask
from runner.templating.templar import Templar
from tests.conftest import free_port

pytestmark = pytest.mark.integration

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[str]]]:
    got: list[str] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    port = free_port()
    controller = aiosmtpd_controller.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, got
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            got.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], got
    server.shutdown()
    server.server_close()


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_rollback_messages_reach_a_real_smtp_server_and_a_webhook_with_secrets_masked(
    smtp: tuple[int, list[str]], webhook: tuple[int, list[dict[str, Any]]]
) -> None:
    smtp_port, mails = smtp
    http_port, posts = webhook
    spec = {
        "change_kind": "trading",
        "channels": {
            "mail": f"mailto://127.0.0.1:{smtp_port}?from=drill@example.com"
            "&to=desk@example.com&mode=insecure",
            "hook": f"json://127.0.0.1:{http_port}/drill",
        },
        "stakeholders": {"Trading desk": ["mail", "hook"], "Compliance": ["mail"]},
        # A loaded machine (two suites at once) can take seconds per SMTP round trip; a
        # delivery past its timeout is reported failed and may land after the next one.
        "timeout": "30s",
    }
    mask = SecretMask(["t0ps3cret"])
    records: list[tuple[str, dict[str, Any]]] = []
    n = Notifier(
        parse_notify(spec),
        {"drill": "gw rollback", "component": "order-gateway"},
        Templar(mask),
        mask,
        lambda kind, fields: records.append((kind, fields)),
    )
    n.event("rollback", reason="login with t0ps3cret failed", eta="09:05 UTC")
    n.event("complete", status="PASSED", figures="RTO 0.50s.")
    n.close()
    _wait(lambda: len(mails) >= 2 and len(posts) >= 2)
    assert len(mails) == 2 and len(posts) == 2
    assert "Subject: [ROLLBACK] order-gateway - gw rollback" in mails[0]
    assert "Initiating rollback of order-gateway" in mails[0]
    assert "To: Trading desk, Compliance" in mails[0]
    assert posts[0]["title"] == "[ROLLBACK] order-gateway - gw rollback"
    assert "To: Trading desk" in posts[0]["message"]
    everything = json.dumps(posts) + "".join(mails) + repr(records)
    assert "t0ps3cret" not in everything and "********" in posts[0]["message"]
    assert sorted(k for k, _ in records) == ["notify_sent"] * 4


def test_an_smtp_server_that_is_down_is_recorded_and_bounded(
    webhook: tuple[int, list[dict[str, Any]]],
) -> None:
    http_port, posts = webhook
    closed = free_port()  # nothing listens here
    spec = {
        "channels": {
            "mail": f"mailto://127.0.0.1:{closed}?from=a@example.com&to=b@example.com&mode=insecure",
            "hook": f"json://127.0.0.1:{http_port}/drill",
        },
        "timeout": "2s",
    }
    mask = SecretMask()
    records: list[tuple[str, dict[str, Any]]] = []
    n = Notifier(
        parse_notify(spec), {"drill": "d"}, Templar(mask), mask, lambda k, f: records.append((k, f))
    )
    started = time.monotonic()
    n.event("start")
    n.close()
    assert time.monotonic() - started < 2.5
    _wait(lambda: len(posts) >= 1)
    assert len(posts) == 1
    kinds = {f["channel"]: k for k, f in records}
    assert kinds == {"mail": "notify_failed", "hook": "notify_sent"}
