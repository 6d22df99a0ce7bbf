"""An unreachable docker engine is named without the password its URL carries."""

from __future__ import annotations

import pytest

from runner.connections.docker_targets import docker_client
from runner.errors import TargetEnvironmentError


def test_an_engine_url_with_a_password_is_reported_without_it() -> None:
    url = "tcp://ops:Dock-Pw-1@127.0.0.1:1"
    with pytest.raises(TargetEnvironmentError) as raised:
        docker_client(url)
    message = str(raised.value)
    assert message.startswith("docker engine at tcp://127.0.0.1:1 is not reachable"), message
    assert "Dock-Pw-1" not in message, message
