"""One connection per host, opened on first use and reused by every step."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from runner.connections.base import CancelToken, Connection, HostUnreachable
from runner.connections.local import LocalConnection
from runner.errors import TargetEnvironmentError

__all__ = ["ConnectionPool", "HostUnreachable"]
from runner.inventory.model import Host

Factory = Callable[[Host], Connection]


def _ssh(host: Host) -> Connection:
    from runner.connections.ssh import SshConnection  # paramiko loads only when needed

    return SshConnection(host)


def _docker(host: Host) -> Connection:
    from runner.connections.docker import docker_factory  # the docker SDK loads only when needed

    return docker_factory(host)


def default_factories() -> dict[str, Factory]:
    return {"local": lambda host: LocalConnection(), "ssh": _ssh, "docker": _docker}


class ConnectionPool:
    def __init__(self, factories: Mapping[str, Factory] | None = None) -> None:
        self.factories = dict(factories or default_factories())
        self._connections: dict[str, Connection] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.unreachable: dict[str, str] = {}
        # Set when the operator interrupts while hosts are being opened up front.
        self.opening = CancelToken()

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
        """The host's connection, opened on first use; HostUnreachable once it failed to open."""
        with self._lock:
            lock = self._locks.setdefault(host.name, threading.Lock())
        with lock:
            if host.name in self.unreachable:
                raise HostUnreachable(self.unreachable[host.name])
            if host.name not in self._connections:
                conn = self.factories[host.connection](host)
                opener = getattr(conn, "connect", None)
                try:
                    if opener is not None:
                        opener(self.opening)
                except HostUnreachable as exc:
                    self.unreachable[host.name] = str(exc)
                    raise
                self._connections[host.name] = conn
            return self._connections[host.name]

    def open_all(self, hosts: list[Host], workers: int) -> None:
        """Connect to every host up front, in parallel, so a host-key problem stops the run
        before any step; unreachable hosts are remembered and reported per step."""
        pool = ThreadPoolExecutor(max_workers=max(1, workers))
        try:
            futures = [pool.submit(self._try_open, h) for h in hosts]
            for future in futures:
                future.result()
        except BaseException:
            # Ctrl-C (or a host-key error): stop the other connects now, not after their
            # timeouts, so the process can exit within a moment.
            self.opening.cancel("interrupted")
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _try_open(self, host: Host) -> None:
        if self.opening.cancelled:
            return
        with contextlib.suppress(HostUnreachable):  # reported per step, not here
            self.get(host)

    def close_all(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            conn.close()
