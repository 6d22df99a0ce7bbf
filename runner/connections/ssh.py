"""SSH targets over paramiko: one persistent connection per host, reused by every step.

TCP_NODELAY is set on the socket: without it, Nagle's algorithm and delayed ACKs add
about 40 ms to every exec. Timeouts kill the remote process group, not only the channel.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import paramiko

from runner.connections.base import CancelToken, CommandResult, CommandSpec
from runner.connections.host_keys import (
    STRICT,
    HostKeyPolicy,
    changed_key_error,
    known_hosts,
    known_hosts_entry,
)
from runner.connections.pool import HostUnreachable
from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host

CONNECT_ATTEMPTS = 3

# paramiko logs connection failures with tracebacks; we report them ourselves, per host.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False
POLL_S = 0.05


@dataclass(frozen=True)
class SshSettings:
    """Everything needed to reach one host, from inventory vars and ~/.ssh/config."""

    label: str
    address: str
    port: int
    user: str | None
    key_files: tuple[str, ...]
    password: str | None
    known_hosts: Path
    host_key_checking: str
    proxy_jump: str | None
    connect_timeout: float
    become: bool
    become_user: str
    become_password: str | None

    @classmethod
    def for_host(cls, host: Host) -> SshSettings:
        v = host.vars
        config = _ssh_config_for(host.address)
        key = v.get("ssh_key_file") or v.get("ansible_ssh_private_key_file")
        keys = (str(key),) if key else tuple(config.get("identityfile", ()))
        known = (
            v.get("known_hosts") or os.environ.get("DRILLCTL_KNOWN_HOSTS") or "~/.ssh/known_hosts"
        )
        checking = str(
            v.get("host_key_checking") or os.environ.get("DRILLCTL_HOST_KEY_CHECKING") or STRICT
        )
        return cls(
            label=host.name if host.name == host.address else f"{host.name} ({host.address})",
            address=str(config.get("hostname", host.address)),
            port=int(host.port or config.get("port", 22)),
            user=host.user or config.get("user"),
            key_files=tuple(os.path.expanduser(k) for k in keys),
            password=_opt(
                v.get("password") or v.get("ansible_password") or v.get("ansible_ssh_pass")
            ),
            known_hosts=Path(os.path.expanduser(str(known))),
            host_key_checking=checking,
            proxy_jump=_opt(v.get("proxy_jump") or config.get("proxyjump")),
            connect_timeout=float(v.get("connect_timeout", 10)),
            become=bool(v.get("become") or v.get("ansible_become")),
            become_user=str(v.get("become_user") or v.get("ansible_become_user") or "root"),
            become_password=_opt(v.get("become_password") or v.get("ansible_become_password")),
        )


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _ssh_config_for(address: str) -> dict[str, Any]:
    path = Path(os.path.expanduser("~/.ssh/config"))
    if not path.is_file():
        return {}
    config = paramiko.SSHConfig.from_path(str(path))
    return dict(config.lookup(address))


class SshConnection:
    def __init__(self, host: Host, settings: SshSettings | None = None) -> None:
        self.host = host
        self.settings = settings or SshSettings.for_host(host)
        self._client: paramiko.SSHClient | None = None
        self._jump: SshConnection | None = None
        self._lock = threading.Lock()

    # -- connecting ---------------------------------------------------------------
    def connect(self) -> paramiko.SSHClient:
        """Open (once) and return the client; retries with backoff, then HostUnreachable."""
        with self._lock:
            if self._client is not None and _alive(self._client):
                return self._client
            last: Exception | None = None
            for attempt in range(CONNECT_ATTEMPTS):
                try:
                    self._client = self._open()
                    return self._client
                except TargetEnvironmentError:
                    raise  # host-key problems are never retried
                except (OSError, paramiko.SSHException, EOFError) as exc:
                    last = exc
                    if isinstance(exc, paramiko.AuthenticationException):
                        break
                    time.sleep(0.2 * (2**attempt))
            raise HostUnreachable(
                f"ssh to {self.settings.label}:{self.settings.port}: {_reason(last)}"
            )

    def _open(self) -> paramiko.SSHClient:
        s = self.settings
        client = paramiko.SSHClient()
        for kind, key in known_keys(s.known_hosts, known_hosts_entry(s.address, s.port)).items():
            client.get_host_keys().add(known_hosts_entry(s.address, s.port), kind, key)
        client.set_missing_host_key_policy(
            HostKeyPolicy(s.label, s.host_key_checking, s.known_hosts)
        )
        sock = self._socket()
        try:
            client.connect(
                s.address,
                port=s.port,
                username=s.user,
                key_filename=cast(Any, list(s.key_files) or None),  # paramiko takes a list too
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
            sock.close()
            raise
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(15)
        return client

    def _socket(self) -> Any:
        s = self.settings
        if s.proxy_jump:
            jump_host = _jump_host(s.proxy_jump, self.host)
            self._jump = SshConnection(jump_host)
            transport = self._jump.connect().get_transport()
            if transport is None:
                raise paramiko.SSHException(f"jump host {s.proxy_jump} has no transport")
            return transport.open_channel("direct-tcpip", (s.address, s.port), ("127.0.0.1", 0))
        sock = socket.create_connection((s.address, s.port), timeout=s.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    # -- the protocol -------------------------------------------------------------
    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        client = self.connect()
        transport = client.get_transport()
        if transport is None:
            raise HostUnreachable(f"ssh to {self.settings.label}: connection lost")
        started = time.monotonic()
        channel = transport.open_session()
        channel.exec_command(self._command_line(spec))
        stdin = spec.stdin or ""
        if self.settings.become and self.settings.become_password:
            stdin = self.settings.become_password + "\n" + stdin
        if stdin:
            channel.sendall(stdin.encode())
        channel.shutdown_write()
        out, err = bytearray(), bytearray()
        deadline = None if timeout is None else started + timeout
        timed_out = cancelled = False
        while not channel.status_event.wait(POLL_S):
            _drain(channel, out, err)
            if cancel.cancelled:
                cancelled = True
            elif deadline is not None and time.monotonic() >= deadline:
                timed_out = True
            if timed_out or cancelled:
                self._kill_remote(transport, channel, out, err)
                channel.status_event.wait(5)
                break
        rc = channel.recv_exit_status() if channel.exit_status_ready() else -9
        _drain(channel, out, err, until_eof=True)
        channel.close()
        _, stderr = _split_pgid(bytes(err))
        return CommandResult(
            -9 if timed_out else rc,
            out.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace"),
            time.monotonic() - started,
            timed_out,
            cancelled,
        )

    def _command_line(self, spec: CommandSpec) -> str:
        """Announce the process group on stderr, then exec the command in its place.

        sshd runs the command in a shell that leads its own session, so `$$` is the
        process group of everything the command starts; a second channel can kill it.
        """
        inner = (
            f"{shlex.quote(spec.executable)} -c {shlex.quote(spec.shell)}"
            if spec.shell is not None
            else shlex.join(spec.argv or ())
        )
        if spec.env:
            pairs = " ".join(shlex.quote(f"{k}={v}") for k, v in spec.env.items())
            inner = f"env {pairs} {inner}"
        if self.settings.become:
            flags = "-S -p ''" if self.settings.become_password else "-n"
            user = shlex.quote(self.settings.become_user)
            inner = f"sudo {flags} -u {user} -- /bin/sh -c {shlex.quote(inner)}"
        prefix = f"cd {shlex.quote(spec.cwd)} && " if spec.cwd else ""
        return f"printf '{_PGID_MARK.decode()} %s\\n' $$ >&2; {prefix}exec {inner}"

    def _kill_remote(
        self,
        transport: paramiko.Transport,
        channel: paramiko.Channel,
        out: bytearray,
        err: bytearray,
    ) -> None:
        pgid = None
        deadline = time.monotonic() + 1.0
        while pgid is None and time.monotonic() < deadline:
            pgid, _ = _split_pgid(bytes(err))
            if pgid is None:
                time.sleep(0.01)
                _drain(channel, out, err)
        if pgid is None:
            return  # the command never started; closing the channel is all there is to do
        # TERM the group, give it a moment, then KILL what is left. (No `kill -0` wait loop:
        # the dead shell stays a zombie in the group until sshd reaps it.)
        script = (
            f"kill -TERM -- -{pgid} 2>/dev/null; sleep 0.2; kill -KILL -- -{pgid} 2>/dev/null; true"
        )
        try:
            killer = transport.open_session()
            killer.exec_command(script)
            killer.recv_exit_status()
            killer.close()
        except (paramiko.SSHException, OSError):
            pass  # the connection itself is gone; so is the process's controlling channel

    def put(self, local_path: str, remote_path: str) -> None:
        with self.connect().open_sftp() as sftp:
            sftp.put(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        with self.connect().open_sftp() as sftp:
            sftp.get(remote_path, local_path)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._jump is not None:
                self._jump.close()
                self._jump = None


_PGID_MARK = b"drillctl-pgid"
_PGID_LINE = re.compile(rb"^drillctl-pgid (\d+)\n", re.MULTILINE)


def _split_pgid(err: bytes) -> tuple[int | None, bytes]:
    """The announced process group, and stderr without the announcement."""
    match = _PGID_LINE.search(err)
    if match is None:
        return None, err
    return int(match.group(1)), err[: match.start()] + err[match.end() :]


_known_cache: dict[Path, tuple[float, paramiko.HostKeys]] = {}
_known_lock = threading.Lock()


def known_keys(path: Path, entry: str) -> dict[str, paramiko.PKey]:
    """Keys known for one host entry; the file is parsed once per change, not per host."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    with _known_lock:
        cached = _known_cache.get(path)
        if cached is None or cached[0] != mtime:
            keys = known_hosts(path).keys  # @revoked keys left out, bad lines skipped
            cached = (mtime, keys)
            _known_cache[path] = cached
    found = cached[1].lookup(entry)
    return dict(found) if found else {}


def _alive(client: paramiko.SSHClient) -> bool:
    transport = client.get_transport()
    return transport is not None and transport.is_active()


def _drain(
    channel: paramiko.Channel, out: bytearray, err: bytearray, until_eof: bool = False
) -> None:
    while True:
        progressed = False
        while channel.recv_ready():
            out.extend(channel.recv(65536))
            progressed = True
        while channel.recv_stderr_ready():
            err.extend(channel.recv_stderr(65536))
            progressed = True
        if not until_eof or (channel.eof_received and not progressed):
            return
        if not progressed:
            time.sleep(0.001)


def _reason(exc: Exception | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, paramiko.AuthenticationException):
        return f"authentication failed ({text})"
    return text


# What a jump host takes from the target's settings (ssh_config may still override).
_JUMP_INHERITS = (
    "known_hosts",
    "host_key_checking",
    "ssh_key_file",
    "ansible_ssh_private_key_file",
)


def _jump_host(spec: str, target: Host) -> Host:
    """A Host for `[user@]host[:port]` as ProxyJump writes it."""
    user, _, rest = spec.rpartition("@")
    address, _, port = rest.partition(":")
    return Host(
        name=rest,
        address=address,
        connection="ssh",
        port=int(port) if port else None,
        user=user or None,
        vars={k: v for k, v in target.vars.items() if k in _JUMP_INHERITS},
        groups=(),
    )


def ssh_factory(host: Host) -> SshConnection:
    return SshConnection(host)
