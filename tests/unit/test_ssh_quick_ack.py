"""Before each command the SSH socket is set to acknowledge the host's reply at once."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from runner.connections import ssh


@pytest.fixture
def tcp_pair() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    try:
        yield client
    finally:
        for s in (client, accepted, server):
            s.close()


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux's")
def test_a_tcp_socket_is_set_to_acknowledge_at_once(tcp_pair: socket.socket) -> None:
    quickack = socket.TCP_QUICKACK  # type: ignore[attr-defined,unused-ignore]
    tcp_pair.setsockopt(socket.IPPROTO_TCP, quickack, 0)
    assert tcp_pair.getsockopt(socket.IPPROTO_TCP, quickack) == 0
    transport: Any = SimpleNamespace(sock=tcp_pair)
    ssh._quick_ack(transport)
    assert tcp_pair.getsockopt(socket.IPPROTO_TCP, quickack) == 1


def test_a_channel_through_a_jump_host_is_left_alone() -> None:
    # Behind ProxyJump the transport's "socket" is a paramiko channel: nothing to set.
    channel = SimpleNamespace(setsockopt=None)
    transport: Any = SimpleNamespace(sock=channel)
    ssh._quick_ack(transport)  # no error, no attempt on a non-socket


def test_a_closed_socket_is_not_an_error() -> None:
    # A connection that died under us is reported by the command that follows, not here.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.close()
    transport: Any = SimpleNamespace(sock=sock)
    ssh._quick_ack(transport)
