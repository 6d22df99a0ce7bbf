"""A lab that does not come up whole leaves no container behind."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import docker
import pytest

from runner.lab import docker_lab

pytestmark = pytest.mark.integration


def held_neighbour() -> tuple[int, socket.socket]:
    """A free port, and a listening socket on the port after it."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        taken = socket.socket()
        try:
            taken.bind(("127.0.0.1", port + 1))
        except OSError:
            taken.close()
            continue
        taken.listen()
        return port, taken
    raise AssertionError("no free port with a free neighbour in 50 tries")


def test_a_port_taken_for_the_second_container_removes_the_first(docker_engine: Any) -> None:
    prefix = f"drillctl-test-partial-{uuid.uuid4().hex[:6]}"
    port, taken = held_neighbour()
    with taken, pytest.raises(docker.errors.APIError):
        docker_lab.up(2, first_port=port, prefix=prefix)
    client = docker.from_env()
    left = [c.name for c in client.containers.list(all=True) if c.name.startswith(prefix)]
    assert left == []
