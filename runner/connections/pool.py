"""One connection per host, opened on first use and reused by every step."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from runner.connections.base import Connection
from runner.connections.local import LocalConnection
from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host

Factory = Callable[[Host], Connection]


class HostUnreachable(Exception):
    """The target could not be reached; the host is `unreachable`, not `failed`."""


def default_factories() -> dict[str, Factory]:
    return {"local": lambda host: LocalConnection()}


class ConnectionPool:
    def __init__(self, factories: Mapping[str, Factory] | None = None) -> None:
        self.factories = dict(factories or default_factories())
        self._connections: dict[str, Connection] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def check_supported(self, hosts: list[Host]) -> None:
        """Fail before any step runs if a host needs a connection kind we cannot open."""
        for host in hosts:
            if host.connection not in self.factories:
                kinds = ", ".join(sorted(self.factories))
                raise TargetEnvironmentError(
                    f"host {host.name}: connection {host.connection!r} is not available "
                    f"(this drillctl can use: {kinds})"
                )

    def get(self, host: Host) -> Connection:
        with self._lock:
            lock = self._locks.setdefault(host.name, threading.Lock())
        with lock:
            if host.name not in self._connections:
                self._connections[host.name] = self.factories[host.connection](host)
            return self._connections[host.name]

    def close_all(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            conn.close()
