"""A gateway that cannot be reached is reported without the password its URL carries."""

from __future__ import annotations

import socket

import pytest

from runner.report.pushgateway import PushError, push_run


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("password", ["Push-Pa55", "Push%2FPa55"])
def test_a_failed_push_names_the_gateway_without_its_password(password: str) -> None:
    gateway = f"http://metrics:{password}@127.0.0.1:{closed_port()}/"
    with pytest.raises(PushError) as raised:
        push_run({"status": "passed"}, gateway, timeout_s=2.0)
    message = str(raised.value)
    assert message.startswith("could not push to http://127.0.0.1:"), message
    assert "Pa55" not in message, message
