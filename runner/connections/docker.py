"""Docker containers: exec through the engine API; on timeout the command dies inside the container.

Each exec carries a unique token in its environment. Every process it starts inherits the
token (even one that calls setsid), so a second exec can find and kill all of them through
/proc without the command being wrapped: a normal run costs exactly what `exec_run` costs.

Every engine call of a command runs in the command's own thread, so the caller keeps its
bounds whatever the engine does: a command ends within its timeout plus GRACE_S, and
within CANCEL_BOUND_S of a cancel. An engine that stops answering, or goes away, while a
host's command runs makes that host `unreachable`.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import socket
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from runner.connections.base import (
    CANCEL_BOUND_S,
    GRACE_S,
    CancelToken,
    CommandResult,
    CommandSpec,
)
from runner.connections.docker_targets import (
    ContainerTarget,
    EngineError,
    NoSuchObject,
    container_target,
    docker_client,
    engine_calls,
    host_unreachable,
    resolve_container,
)
from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host

TOKEN_VAR = "DRILLCTL_EXEC_ID"
POLL_S = 0.05
KILL_GRACE_S = 1.0
# The kill (TERM, KILL_GRACE_S, KILL) must be answered within this after a timeout; then the
# engine closes the exec's output. A process that escaped (it cleared its environment)
# could hold it open forever, so we stop waiting at the timeout plus GRACE_S.
KILL_WITHIN_S = GRACE_S - 1.0
KILL_ON_CANCEL_S = CANCEL_BOUND_S - 0.8
# How long the exit code may lag behind the end of the output.
EXIT_CODE_SETTLE_S = 1.0
# How often a running command's engine is asked whether it still answers.
ENGINE_CHECK_S = 5.0
_START_FAILED = ("OCI runtime exec failed", "unable to find user", "unable to find group")

# TERM every process whose environment holds $1 (VAR=token), allow $2 tenths of a second,
# then KILL the rest. Zombies have an empty environ, so they never match (only their parent
# can reap them; containers run with an init, like `docker run --init`, have none left).
_KILL_SCRIPT = """\
tok=$1
pids() {
  for d in /proc/[0-9]*; do
    tr '\\0' '\\n' <"$d/environ" 2>/dev/null | grep -qxF "$tok" && echo "${d#/proc/}"
  done
}
p=$(pids); [ -z "$p" ] && exit 0
kill -TERM $p 2>/dev/null
i=0
while [ "$i" -lt "$2" ]; do
  sleep 0.1; p=$(pids); [ -z "$p" ] && exit 0; i=$((i+1))
done
n=0
while [ -n "$p" ] && [ "$n" -lt 50 ]; do
  kill -KILL $p 2>/dev/null; sleep 0.05; p=$(pids); n=$((n+1))
done
[ -z "$p" ]
"""


class DockerConnection:
    """Runs commands in one container through the Docker engine API (exec)."""

    def __init__(self, host: Host) -> None:
        self.target: ContainerTarget = container_target(host)
        self.user = host.user or ""
        self.client = docker_client(self.target.engine_url)
        self._container: str | None = None

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        token = uuid.uuid4().hex
        argv = (
            list(spec.argv) if spec.argv is not None else [spec.executable, "-c", spec.shell or ""]
        )
        started = time.monotonic()
        stdin = None if spec.stdin is None else spec.stdin.encode()
        env = {**spec.env, TOKEN_VAR: token}
        worker = _Exec(self, argv, env, spec.cwd, stdin)
        worker.start()
        deadline = None if timeout is None else started + timeout
        timed_out = cancelled = False
        health = _EngineHealth(self.client.api, self.target.engine_url)
        while True:
            worker.join(POLL_S)
            if not worker.is_alive():
                break
            if cancel.cancelled:
                cancelled = True
                break
            if deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                break
            problem = health.check()
            if problem:  # the engine stopped answering under a command that has no end
                worker.abandon()
                raise host_unreachable(f"{self.target.describe()}: {problem}")
        kill_error = ""
        if timed_out or cancelled:
            answered, kill_error = self._kill_within(
                worker.container, token, KILL_ON_CANCEL_S if cancelled else KILL_WITHIN_S
            )
            if not answered:
                worker.abandon()
                if cancelled:
                    note = f"\ndrillctl: {kill_error}; the command may still run\n"
                    return CommandResult(-9, "", note, time.monotonic() - started, False, True)
                assert timeout is not None
                raise host_unreachable(
                    f"{self.target.describe()}: {kill_error} after the command's timeout "
                    f"of {timeout:g}s"
                )
            end = (time.monotonic() + 0.3) if cancelled else (started + (timeout or 0) + GRACE_S)
            worker.join(max(0.0, end - time.monotonic()))
            if worker.is_alive():
                worker.abandon()
                kill_error += (
                    "\ndrillctl: output still open after the kill: a process that cleared its "
                    f"environment may be left in {worker.container}\n"
                )
        container = worker.container or self.target.describe()
        if worker.error is not None:  # e.g. the container went away mid-command
            with self._calls(container):
                raise worker.error
        rc = worker.rc
        out, err = worker.stdout.decode(errors="replace"), worker.stderr.decode(errors="replace")
        if rc in (126, 127) and not err and out.startswith(_START_FAILED):
            out, err = "", out.strip() + "\n"  # the engine reports a failed start on stdout
        if timed_out or cancelled:
            rc = _signal_rc(rc)
            err += kill_error
        elif rc is None:
            rc = -1  # the output ended but the engine gave no exit code
        return CommandResult(rc, out, err, time.monotonic() - started, timed_out, cancelled)

    def put(self, local_path: str, remote_path: str) -> None:
        container = self._resolve()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tar.gettarinfo(local_path, arcname=posixpath.basename(remote_path))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(local_path, "rb") as fh:
                tar.addfile(info, fh)
        with self._calls(container, path=posixpath.dirname(remote_path) or "/"):
            self.client.api.put_archive(
                container, posixpath.dirname(remote_path) or "/", buf.getvalue()
            )

    def get(self, remote_path: str, local_path: str) -> None:
        container = self._resolve()
        with tempfile.TemporaryFile() as spool:
            with self._calls(container, path=remote_path):
                stream, _stat = self.client.api.get_archive(container, remote_path)
                for chunk in stream:
                    spool.write(chunk)
            spool.seek(0)
            with tarfile.open(fileobj=spool, mode="r") as tar:
                member = tar.next()
                if member is None or not member.isfile():
                    kind = "nothing" if member is None else "not a regular file"
                    raise IsADirectoryError(f"{remote_path} in {self.target.describe()}: {kind}")
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has content
                with open(local_path, "wb") as out:
                    while block := source.read(1 << 20):
                        out.write(block)
            os.chmod(local_path, member.mode & 0o777)

    def close(self) -> None:
        """Nothing to release: the engine client is shared by every host on that engine."""

    def _resolve(self) -> str:
        if self._container is None:
            self._container = resolve_container(self.client, self.target)
        return self._container

    @contextmanager
    def _calls(self, container: str, path: str | None = None) -> Iterator[None]:
        """Engine calls on the container: a missing or stopped container is unreachable,
        and so is every container of an engine that stopped answering."""
        try:
            with engine_calls(self.target.engine_url):
                yield
        except TargetEnvironmentError as err:
            raise host_unreachable(f"{self.target.describe()}: {err}") from None
        except NoSuchObject as err:
            if path is not None and "no such container" not in str(err).lower():
                raise FileNotFoundError(f"{path} in container {container}") from None
            self._container = None  # a label selector may find a replacement next time
            raise host_unreachable(f"container {container!r}: {err}") from None
        except EngineError as err:
            if err.status == 409:  # exists but is not running, or is paused
                raise host_unreachable(f"container {container!r}: {err}") from None
            raise

    def _kill_within(self, container: str | None, token: str, bound: float) -> tuple[bool, str]:
        """Kill the exec's processes, waiting at most `bound` seconds for the engine:
        (whether the engine answered, '' or what went wrong)."""
        if container is None:
            return False, "the docker engine did not start the command"
        done: list[tuple[bool, str]] = []
        killer = threading.Thread(
            target=lambda: done.append(self._kill(container, token)), daemon=True
        )
        killer.start()
        killer.join(bound)
        if not done:
            return False, f"the docker engine did not answer the kill within {bound:g}s"
        return done[0]

    def _kill(self, container: str, token: str) -> tuple[bool, str]:
        """Kill the exec's processes inside the container: (engine answered, problem or '')."""
        grace = str(round(KILL_GRACE_S * 10))
        try:
            with engine_calls(self.target.engine_url):
                kill_id = self.client.api.exec_create(
                    container,
                    ["/bin/sh", "-c", _KILL_SCRIPT, "drillctl-kill", f"{TOKEN_VAR}={token}", grace],
                    user="0",
                )["Id"]
                out, err = self.client.api.exec_start(kill_id, demux=True)
                rc = self.client.api.exec_inspect(kill_id)["ExitCode"]
        except TargetEnvironmentError as exc:
            return False, str(exc)
        except EngineError as exc:
            return True, f"\ndrillctl: could not kill the command inside {container}: {exc}\n"
        if rc != 0:
            why = ((err or b"") + (out or b"")).decode(errors="replace").strip() or f"rc {rc}"
            return True, f"\ndrillctl: could not kill the command inside {container}: {why}\n"
        return True, ""


class _OutputCut(Exception):
    """The exec's output ended while the engine says the command still runs."""


class _Exec(threading.Thread):
    """One command's engine calls (resolve, create, start, output, exit code), in the
    background so that the caller can time it out or cancel it whatever the engine does."""

    def __init__(
        self,
        conn: DockerConnection,
        argv: list[str],
        env: dict[str, str],
        cwd: str | None,
        stdin: bytes | None,
    ) -> None:
        super().__init__(name="docker-exec", daemon=True)
        self.conn, self.argv, self.env, self.cwd, self.stdin = conn, argv, env, cwd, stdin
        self.container: str | None = None
        self.stdout = self.stderr = b""
        self.rc: int | None = None
        self.error: BaseException | None = None
        self._sock: Any = None

    def run(self) -> None:
        try:
            self.container = self.conn._resolve()
            with engine_calls(self.conn.target.engine_url):
                self._exec(self.conn.client.api, self.container)
        except _OutputCut:
            self.error = host_unreachable(
                f"{self.conn.target.describe()}: the connection to the docker engine broke "
                "while the command ran (its output ended, the command did not)"
            )
        except Exception as exc:  # handed to the caller's thread, which raises it
            self.error = exc

    def _exec(self, api: Any, container: str) -> None:
        from docker.utils.socket import consume_socket_output, demux_adaptor, frames_iter

        exec_id = api.exec_create(
            container,
            self.argv,
            stdout=True,
            stderr=True,
            stdin=self.stdin is not None,
            environment=self.env,
            workdir=self.cwd,
            user=self.conn.user,
        )["Id"]
        sock = api.exec_start(exec_id, socket=True)
        raw = getattr(sock, "_sock", sock)
        self._sock = raw
        try:
            # The API timeout bounds each call; output may be silent for as long as the
            # command runs, and the caller bounds that.
            raw.settimeout(None)
            if self.stdin is not None:
                raw.sendall(self.stdin)
                raw.shutdown(socket.SHUT_WR)  # the command sees end of input
            frames = (demux_adaptor(*frame) for frame in frames_iter(sock, False))
            out, err = consume_socket_output(frames, demux=True)
        finally:
            sock.close()
        self.stdout, self.stderr = out or b"", err or b""
        # The engine may take a moment to record the exit code after the output ends; an
        # exec still running then means our connection to it broke, not that it ended.
        settle = time.monotonic() + EXIT_CODE_SETTLE_S
        while True:
            info = api.exec_inspect(exec_id)
            if info.get("ExitCode") is not None or not info.get("Running", False):
                self.rc = info.get("ExitCode")
                return
            if time.monotonic() >= settle:
                raise _OutputCut()
            time.sleep(0.05)

    def abandon(self) -> None:
        """Stop waiting for the output: wake the thread if it is blocked reading it."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


class _EngineHealth:
    """While a command runs, the engine is pinged every ENGINE_CHECK_S; an engine that
    fails the ping, or leaves it unanswered for the API timeout, is gone. This is what
    bounds a command without a timeout, as keepalives do for SSH."""

    def __init__(self, api: Any, url: str) -> None:
        self.api, self.url = api, url
        self.last_ok = time.monotonic()
        self._thread: threading.Thread | None = None
        self._result: list[BaseException | None] = []

    def check(self) -> str:
        """'' while the engine answers, else why it is considered gone."""
        if self._thread is None:
            if time.monotonic() - self.last_ok >= ENGINE_CHECK_S:
                self._result = []
                self._thread = threading.Thread(target=self._ping, daemon=True)
                self._thread.start()
            return ""
        if self._thread.is_alive():
            return ""  # the API timeout bounds the ping itself
        self._thread = None
        if self._result and self._result[0] is not None:
            return str(self._result[0])
        self.last_ok = time.monotonic()
        return ""

    def _ping(self) -> None:
        try:
            with engine_calls(self.url):
                self.api.ping()
            self._result.append(None)
        except Exception as exc:  # handed to check(), which reports it
            self._result.append(exc)


def _signal_rc(rc: int | None) -> int:
    """A killed exec's code as a local process reports it: -15 for TERM, -9 for KILL."""
    if rc is None:  # still running after the kill: it escaped, and we stopped waiting
        return -9
    return -(rc - 128) if rc > 128 else rc


def docker_factory(host: Host) -> DockerConnection:
    """The connection factory the pool registers for `connection: docker`."""
    return DockerConnection(host)
