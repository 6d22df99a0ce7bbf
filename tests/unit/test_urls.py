"""URLs with credentials are requested with a Basic header; bad URLs are errors, not crashes."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runner.actions.base import ActionArgError
from runner.actions.http import plan_http, request
from runner.urls import request_target, url_problem, without_credentials


@pytest.fixture
def server() -> Iterator[tuple[str, list[str | None]]]:
    """A server on 127.0.0.1 recording the Authorization header of each request."""
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_credentials_in_a_url_become_a_basic_authorization_header(
    server: tuple[str, list[str | None]],
) -> None:
    address, seen = server
    response = request(f"http://ops:p%40ss%2Fw%27rd@{address}/health", timeout=5)
    assert (response.status, response.error) == (200, "")
    assert seen == ["Basic " + base64.b64encode(b"ops:p@ss/w'rd").decode()]


def test_a_url_without_credentials_sends_no_authorization(
    server: tuple[str, list[str | None]],
) -> None:
    address, seen = server
    assert request(f"http://{address}/", timeout=5).status == 200
    assert seen == [None]


@pytest.mark.parametrize(
    "url",
    [
        "http://user:s3cr'et/+=&x@127.0.0.1:9/",  # an unencoded / ends the host early
        "http://[::1",
        "http://",
        "http://host:99999/",
        "http://host:0/",
        "http://bad host/",
        "http://-bad-.example/",
        "http://" + "a" * 64 + ".example/",
        "http://[::zz]/",
        "ftp://host/",
        "http://host/\x00",
    ],
)
def test_a_bad_url_is_a_failed_request_and_a_plan_error_never_a_crash(url: str) -> None:
    problem = url_problem(url)
    assert problem
    response = request(url, timeout=1)
    assert response.status is None and response.error
    with pytest.raises(ActionArgError):
        plan_http({"url": url})
    # Messages never quote what could be a password.
    assert "s3cr" not in response.error and "et/+=&x" not in response.error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/health",
        "https://example.com",
        "http://[::1]:80/x?y=a@b",
        "http://user:p%2Fw@host.example:443/",
        "http://münchen.example/",
    ],
)
def test_good_urls_have_no_problem(url: str) -> None:
    assert url_problem(url) is None


def test_credentials_are_removed_from_messages_and_split_for_requests() -> None:
    assert without_credentials("http://u:p/w@h:1/x?q=a@b") == "http://h:1/x?q=a@b"
    assert without_credentials("http://h/x?q=a@b") == "http://h/x?q=a@b"
    target = request_target("https://u:p%3Aw@h/x")
    assert target.url == "https://h/x"
    assert target.authorization == "Basic " + base64.b64encode(b"u:p:w").decode()
