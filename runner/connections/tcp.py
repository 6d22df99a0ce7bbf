"""TCP connections a cancel can stop, and sockets another thread can wake up."""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from typing import Any

from runner.connections.base import CancelToken


class ConnectCancelled(Exception):
    """Connecting stopped because the operator interrupted."""


def tcp_connect(
    address: str, port: int, timeout: float, cancel: CancelToken | None
) -> socket.socket:
    """A connected TCP socket within `timeout`; ConnectCancelled as soon as `cancel` is set.

    poll(), not select(): with a thousand hosts, descriptors pass select's limit of 1024.
    """
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    for family, kind, proto, _, addr in socket.getaddrinfo(address, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            code = sock.connect_ex(addr)
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, errno.errorcode.get(code, str(code)))
            poller = select.poll()
            poller.register(sock, select.POLLOUT)
            while code != 0:
                if cancel is not None and cancel.cancelled:
                    raise ConnectCancelled()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"connect timed out after {timeout:g}s")
                if poller.poll(min(100.0, left * 1000)):
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        raise OSError(code, os.strerror(code))
                    break
            sock.setblocking(True)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
        except BaseException:
            sock.close()
            raise
    raise last or OSError(f"{address}: no address to connect to")


def shutdown(sock: Any) -> None:
    """Wake every thread blocked on the socket (close alone does not)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        sock.close()
