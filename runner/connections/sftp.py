"""SFTP over an SSH connection, with every wait bounded: a silent host is unreachable."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from runner.connections.base import HostUnreachable
from runner.connections.ssh_library import paramiko
from runner.connections.ssh_settings import SshSettings
from runner.connections.watchdog import WATCHDOG

Lost = Callable[[paramiko.Transport | None, str], HostUnreachable]


class BoundedSftp:
    """An SFTP session whose every read is bounded; a silent host is unreachable."""

    def __init__(
        self, settings: SshSettings, transport: paramiko.Transport | None, lost: Lost
    ) -> None:
        """`lost` closes the connection and says why the host is unreachable."""
        self.settings, self.transport, self.lost = settings, transport, lost
        self.sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> paramiko.SFTPClient:
        s = self.settings
        transport = self.transport
        if transport is None:
            raise self.lost(None, "connection lost")
        opened: list[paramiko.Channel] = []
        bound = time.monotonic() + 2 * s.connect_timeout
        with WATCHDOG.guard(None, bound, lambda: opened[0].close() if opened else None):
            try:
                channel = transport.open_session(timeout=s.connect_timeout)
                opened.append(channel)
                channel.invoke_subsystem("sftp")
                channel.settimeout(s.dead_after_s)
                self.sftp = paramiko.SFTPClient(channel)
            except (paramiko.SSHException, EOFError, TimeoutError) as exc:
                raise self.lost(transport, f"opening sftp: {_why(exc)}") from None
        return self.sftp

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if self.sftp is not None:
            self.sftp.close()
        if isinstance(exc, (TimeoutError, EOFError, paramiko.SSHException)):
            raise self.lost(self.transport, f"file transfer: {_why(exc)}") from None


def _why(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the host closed the connection"
    return str(exc) or type(exc).__name__
