"""Docker engines that misbehave on demand, on unix sockets the test creates.

`silent_engine` accepts connections and never answers, as a wedged dockerd does.
`EngineProxy` forwards to the real engine until `freeze()`: from then on it keeps every
connection open and passes nothing either way, as an engine that stopped mid-call does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

REAL_ENGINE = "/var/run/docker.sock"


@contextlib.contextmanager
def silent_engine(path: Path) -> Iterator[str]:
    """A unix socket that accepts and never answers; yields its DOCKER_HOST url."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)  # kept open, never read: the client waits for an answer

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}"
    finally:
        stop.set()
        server.close()
        for conn in held:
            conn.close()
        path.unlink(missing_ok=True)


class EngineProxy:
    """Forwards a unix socket to the real engine until frozen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frozen = threading.Event()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(64)
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def freeze(self) -> None:
        """From now on nothing passes, and new connections get no answer."""
        self.frozen.set()

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # close alone leaves a blocked recv be
                with contextlib.suppress(OSError):
                    sock.close()
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self._open.append(client)
            if self.frozen.is_set():
                continue  # held open, never answered
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(REAL_ENGINE)
            with self._lock:
                self._open.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if self.frozen.is_set():
                return  # swallow it: the other side waits for an answer that never comes
            if not data:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            try:
                dst.sendall(data)
            except OSError:
                return
