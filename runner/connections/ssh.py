"""SSH targets over paramiko: one persistent connection per host, reused by every step.

TCP_NODELAY is set on the socket: without it, Nagle's algorithm and delayed ACKs add
about 40 ms to every exec. Timeouts kill the remote process group, not only the channel.

Nothing here waits forever (README.md, Targets, states the bounds):
- a command ends within its timeout plus GRACE_S: at the timeout the remote process group
  is killed; a host that does not answer the kill within the grace is `unreachable` and
  its connection is closed;
- a connection lost under a command (sshd killed, host gone, packets dropped until the
  keepalive bound) ends the command at once as `unreachable`;
- a cancel (Ctrl-C) ends the command within CANCEL_GRACE_S plus a watchdog tick: the
  kill is tried for KILL_ON_CANCEL_S, then the channel is closed whatever the host does.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any, cast

from runner.connections.base import (
    GRACE_S,
    CancelToken,
    CommandResult,
    CommandSpec,
    HostUnreachable,
    local_limit,
)
from runner.connections.host_keys import (
    HostKeyPolicy,
    changed_key_error,
    known_hosts_entry,
    known_keys,
)
from runner.connections.remote_process import becomes, command_line, drain, kill_group, split_pgid
from runner.connections.sftp import BoundedSftp
from runner.connections.ssh_library import paramiko
from runner.connections.ssh_settings import SshSettings, jump_host
from runner.connections.sudo_password import answer_sudo, without_handshake
from runner.connections.tcp import ConnectCancelled, shutdown, tcp_connect
from runner.connections.watchdog import CANCELLED, DEADLINE, WATCHDOG
from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host

CONNECT_ATTEMPTS = 3
POLL_S = 0.05
IDLE_WAKE_S = 1.0  # an idle connection's reader thread: see _open
# After a cancel: time the kill gets, then the watchdog closes the channel regardless.
KILL_ON_CANCEL_S = 0.8
CANCEL_GRACE_S = 1.2
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only: see _quick_ack

# paramiko logs connection failures with tracebacks; we report them ourselves, per host.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False

__all__ = ["GRACE_S", "SshConnection", "SshSettings", "ssh_factory"]


class SshConnection:
    def __init__(self, host: Host, settings: SshSettings | None = None) -> None:
        self.host = host
        self.settings = settings or SshSettings.for_host(host)
        self._client: paramiko.SSHClient | None = None
        self._jump: SshConnection | None = None
        self._lock = threading.Lock()

    # -- connecting ---------------------------------------------------------------
    def connect(self, cancel: CancelToken | None = None) -> paramiko.SSHClient:
        """Open (once) and return the client; retries with backoff, then HostUnreachable.

        A dead client is closed first, so its socket does not linger. With `cancel`,
        connecting stops (ConnectCancelled) within a watchdog tick of an interrupt.
        """
        # Another thread (a probe) may be reconnecting to this host: wait for it, but not
        # past a cancel.
        while not self._lock.acquire(timeout=0.1):
            if cancel is not None and cancel.cancelled:
                raise ConnectCancelled()
        try:
            return self._connect_locked(cancel)
        finally:
            self._lock.release()

    def _connect_locked(self, cancel: CancelToken | None) -> paramiko.SSHClient:
        """Connect while holding the connection's lock."""
        if self._client is not None:
            if _alive(self._client):
                return self._client
            self._client.close()
            self._client = None
        last: Exception | None = None
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                self._client = self._open(cancel)
                return self._client
            except (TargetEnvironmentError, ConnectCancelled):
                raise  # host-key problems are never retried
            except (OSError, paramiko.SSHException, EOFError) as exc:
                last = exc
                if isinstance(exc, paramiko.AuthenticationException) or local_limit(exc):
                    break
                pause = 0.2 * (2**attempt)
                if cancel is not None:
                    if cancel.wait(pause):
                        raise ConnectCancelled() from None
                else:
                    time.sleep(pause)
        raise HostUnreachable(f"ssh to {self.settings.label}:{self.settings.port}: {_reason(last)}")

    def _open(self, cancel: CancelToken | None) -> paramiko.SSHClient:
        s = self.settings
        client = paramiko.SSHClient()
        for kind, key in known_keys(s.known_hosts, known_hosts_entry(s.address, s.port)).items():
            client.get_host_keys().add(known_hosts_entry(s.address, s.port), kind, key)
        client.set_missing_host_key_policy(
            HostKeyPolicy(s.label, s.host_key_checking, s.known_hosts)
        )
        sock = self._socket(cancel)
        # Banner, key exchange and authentication are each bounded by connect_timeout; the
        # guard ends them at once on a cancel (paramiko then sees the socket shut down).
        bound = time.monotonic() + 3 * s.connect_timeout + 1.0
        with WATCHDOG.guard(cancel, bound, lambda: shutdown(sock), 0.0) as guard:
            try:
                client.connect(
                    s.address,
                    port=s.port,
                    username=s.user,
                    key_filename=cast(Any, list(s.key_files) or None),  # a list works too
                    password=s.password,
                    sock=sock,
                    timeout=s.connect_timeout,
                    banner_timeout=s.connect_timeout,
                    auth_timeout=s.connect_timeout,
                    allow_agent=True,
                    look_for_keys=not s.key_files,
                )
            except paramiko.BadHostKeyException as exc:
                sock.close()
                raise changed_key_error(s.label, exc, s.known_hosts) from None
            except BaseException:
                client.close()
                sock.close()
                if guard.fired == CANCELLED:
                    raise ConnectCancelled() from None
                raise
        if guard.fired:
            client.close()
            if guard.fired == CANCELLED:
                raise ConnectCancelled()
            raise TimeoutError(f"no answer within {bound:g}s while connecting")
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(max(1, round(s.keepalive_interval)))
            # Every channel open waits at most this long (paramiko's default is an hour).
            transport.channel_timeout = s.connect_timeout
            # paramiko's reader thread wakes every 0.1 s while the connection is idle, to
            # look for a close and send keepalives. With every host of a fleet connected for
            # the whole drill, that is 10,000 wake-ups a second under the GIL at 1,000 hosts,
            # and CPU that grows with hosts x duration. A close does not wait for this tick
            # (paramiko closes the socket), so a slower one only coarsens the keepalives.
            transport.sock.settimeout(max(0.1, min(IDLE_WAKE_S, s.keepalive_interval)))
        return client

    def _socket(self, cancel: CancelToken | None) -> Any:
        s = self.settings
        if s.proxy_jump:
            self._jump = SshConnection(jump_host(s.proxy_jump, self.host))
            transport = self._jump.connect(cancel).get_transport()
            if transport is None:
                raise paramiko.SSHException(f"jump host {s.proxy_jump} has no transport")
            return transport.open_channel(
                "direct-tcpip", (s.address, s.port), ("127.0.0.1", 0), timeout=s.connect_timeout
            )
        sock = tcp_connect(s.address, s.port, s.connect_timeout, cancel)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_USER_TIMEOUT"):
            # Data unacknowledged this long (a keepalive into a black hole) closes the
            # connection, so a host that silently drops our packets is found dead.
            dead_ms = int(s.dead_after_s * 1000)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, dead_ms)
        return sock

    # -- the protocol -------------------------------------------------------------
    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        try:
            client = self.connect(cancel)
        except ConnectCancelled:
            return _cancelled(started, "drillctl: interrupted while connecting\n")
        transport = client.get_transport()
        if transport is None or not transport.is_active():
            raise self._lost(transport, "connection lost")
        hard = None if deadline is None else deadline + GRACE_S
        opened: list[paramiko.Channel] = []
        _quick_ack(transport)

        def abort() -> None:
            # A channel that is open gets closed; an open that never got an answer means
            # the connection itself is gone.
            if opened:
                opened[0].close()
            else:
                transport.close()

        out, err = bytearray(), bytearray()
        with WATCHDOG.guard(cancel, hard, abort, CANCEL_GRACE_S) as guard:
            try:
                channel = transport.open_session()
                opened.append(channel)
                channel.exec_command(command_line(spec, self.settings))
                password = self.settings.become_password if becomes(spec, self.settings) else None
                started_under_sudo = password is None or answer_sudo(
                    channel, out, err, password, deadline, cancel
                )
                if started_under_sudo and spec.stdin:
                    channel.sendall(spec.stdin.encode())
                channel.shutdown_write()
            except (paramiko.SSHException, EOFError, OSError) as exc:
                if opened:
                    opened[0].close()
                if cancel.cancelled:
                    return _cancelled(started, "drillctl: interrupted before the command ran\n")
                if isinstance(exc, paramiko.ChannelException) and transport.is_active():
                    # The host refused a session (MaxSessions): the connection is fine.
                    raise HostUnreachable(
                        f"ssh to {self.settings.label}: session refused: {exc}"
                    ) from None
                why = "no answer" if guard.fired == DEADLINE else _reason(exc)
                raise self._lost(transport, f"starting the command: {why}") from None
            return self._collect(channel, transport, cancel, started, timeout, (out, err))

    def _collect(
        self,
        channel: paramiko.Channel,
        transport: paramiko.Transport,
        cancel: CancelToken,
        started: float,
        timeout: float | None,
        output: tuple[bytearray, bytearray],
    ) -> CommandResult:
        """Read the command's output (after what `output` holds already) until it ends, is
        killed, or the host is gone."""
        out, err = output
        deadline = None if timeout is None else started + timeout
        timed_out = cancelled = False
        note = ""
        while not channel.status_event.wait(POLL_S):
            drain(channel, out, err)
            if cancel.cancelled:
                cancelled = True
            elif deadline is not None and time.monotonic() >= deadline:
                timed_out = True
            if not (timed_out or cancelled):
                continue
            now = time.monotonic()
            until = now + (KILL_ON_CANCEL_S if cancelled else GRACE_S - 1.0)
            if not kill_group(transport, channel, out, err, until):
                channel.close()
                if cancelled:
                    note = "drillctl: the host did not answer the kill; the command may still run\n"
                    break
                assert timeout is not None
                raise self._lost(
                    transport,
                    f"no answer within {GRACE_S:g}s after the command's timeout of {timeout:g}s",
                )
            end = now + (KILL_ON_CANCEL_S if cancelled else GRACE_S - 0.5)
            channel.status_event.wait(max(0.0, end - time.monotonic()))
            break
        # What output is still in flight; short after a kill, to keep within the bound.
        drain(channel, out, err, until=time.monotonic() + (0.3 if timed_out or cancelled else 1.0))
        got_status = channel.exit_status >= 0 and channel.status_event.is_set()
        channel.close()
        if not got_status and not (timed_out or cancelled) and not transport.is_active():
            raise self._lost(transport, "connection lost while the command ran")
        _, stderr = split_pgid(without_handshake(bytes(err)))
        rc = channel.exit_status if got_status else (-9 if timed_out or cancelled else -1)
        return CommandResult(
            -9 if timed_out else rc,
            out.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace") + note,
            time.monotonic() - started,
            timed_out,
            cancelled,
        )

    def _lost(self, transport: paramiko.Transport | None, what: str) -> HostUnreachable:
        """Close a connection that failed under us; the next use reconnects."""
        detail = ""
        if transport is not None:
            exc = transport.get_exception()
            detail = f" ({_reason(exc)})" if exc is not None else ""
            transport.close()
        return HostUnreachable(f"ssh to {self.settings.label}: {what}{detail}")

    def put(self, local_path: str, remote_path: str) -> None:
        with self._sftp() as sftp:
            sftp.put(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        with self._sftp() as sftp:
            sftp.get(remote_path, local_path)

    def _sftp(self) -> BoundedSftp:
        return BoundedSftp(self.settings, self.connect().get_transport(), self._lost)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._jump is not None:
                self._jump.close()
                self._jump = None


def _quick_ack(transport: paramiko.Transport) -> None:
    """Acknowledge the host's next packets at once rather than after Linux's 40 ms delay.

    sshd leaves Nagle's algorithm on for a command without a terminal, so a second small
    packet of its reply waits until the first is acknowledged; with our delayed ACK that
    stalled the first command on each new connection by ~40 ms. The kernel drops the
    setting again by itself, so it is renewed before every command (one system call)."""
    sock = transport.sock
    if _QUICKACK is not None and isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


def _cancelled(started: float, why: str) -> CommandResult:
    return CommandResult(-9, "", why, time.monotonic() - started, False, True)


def _alive(client: paramiko.SSHClient) -> bool:
    transport = client.get_transport()
    return transport is not None and transport.is_active()


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, paramiko.AuthenticationException):
        return f"authentication failed ({text})"
    if isinstance(exc, EOFError):
        return "the host closed the connection"
    return local_limit(exc) or text


def ssh_factory(host: Host) -> SshConnection:
    return SshConnection(host)
