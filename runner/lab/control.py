"""Start, stop and inspect a detached lab service whose state lives in one directory.

A state directory holds at most one service: `service.pid`, `service.json` (what runs),
`service.log` (its stdout and stderr, appended across starts) and, by default,
`ledger.sqlite`.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TypedDict

import runner
from runner.errors import TargetEnvironmentError
from runner.lab.service import LabConfig, address_family, client_host

PID_FILE = "service.pid"
INFO_FILE = "service.json"
LOG_FILE = "service.log"
LEDGER_FILE = "ledger.sqlite"
LOG_TAIL_LINES = 20
# How the service is started, after the interpreter: also how its process is recognised.
SERVE_COMMAND = ("-m", "runner", "lab", "serve")

# The directory that holds the `runner` package, so the child imports the same code as we do
# even when drillctl is not installed (run from a checkout).
_IMPORT_ROOT = str(Path(runner.__file__).resolve().parent.parent)

# Services this process spawned, kept so we can reap them: an unreaped child lingers as a
# zombie that still "exists" for os.kill(pid, 0).
_spawned: dict[int, subprocess.Popen[bytes]] = {}


class LabError(TargetEnvironmentError):
    """The lab service could not be started: port taken, crashed on start, or never answered."""


class ServiceInfo(TypedDict):
    """What `service.json` records about the running service."""

    pid: int
    bind: str
    port: int
    url: str
    version: str
    mode: str
    db: str
    log: str
    started_at: str


def start(
    state_dir: str | os.PathLike[str],
    *,
    port: int,
    version: str,
    mode: str = "good",
    bind: str = "127.0.0.1",
    db: str | os.PathLike[str] | None = None,
    slow_ms: int = 200,
    verbose: bool = False,
    ready_timeout: float = 10.0,
) -> int:
    """Replace whatever runs in `state_dir` with a detached service; its pid once it answers."""
    state = Path(state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    ledger = Path(db).resolve() if db is not None else state / LEDGER_FILE
    config = LabConfig(port, version, ledger, bind, mode, slow_ms, verbose)
    stop(state)
    _ensure_port_free(bind, port)
    log = state / LOG_FILE
    log_offset = log.stat().st_size if log.exists() else 0
    proc = _spawn(config, state, log)
    _record(state, proc.pid, config)
    problem = _wait_ready(proc, config, ready_timeout)
    if problem is not None:
        tail = _log_tail(log, log_offset)
        stop(state)
        raise LabError(f"{problem}; last lines of {log}:\n{tail}" if tail else problem)
    return proc.pid


def stop(state_dir: str | os.PathLike[str], timeout: float = 5.0) -> bool:
    """Stop the service recorded in `state_dir`: SIGTERM, then SIGKILL; False if none ran."""
    state = Path(state_dir)
    pid = _read_pid(state)
    if pid is None:
        return False
    try:
        if not _is_our_service(pid):
            return False
        _signal(pid, signal.SIGTERM)
        if not _wait_exit(pid, timeout):
            _signal(pid, signal.SIGKILL)
            # SIGKILL cannot be refused; this only waits for the kernel to finish the job.
            _wait_exit(pid, 2.0)
        return True
    finally:
        _spawned.pop(pid, None)
        for name in (PID_FILE, INFO_FILE):
            (state / name).unlink(missing_ok=True)


def status(state_dir: str | os.PathLike[str]) -> ServiceInfo | None:
    """What runs in `state_dir`, or None when no live service is recorded there."""
    state = Path(state_dir)
    pid = _read_pid(state)
    if pid is None or not _is_our_service(pid):
        return None
    try:
        info: ServiceInfo = json.loads((state / INFO_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise LabError(f"{state / INFO_FILE} is unreadable ({exc}); run stop, then start") from None
    return info


def _ensure_port_free(bind: str, port: int) -> None:
    with socket.socket(address_family(bind), socket.SOCK_STREAM) as probe:
        # The server sets SO_REUSEADDR too, so a port left in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LabError(
                    f"port {port} on {bind} is already in use by another process; "
                    "choose another --port or stop that process"
                ) from None
            raise LabError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from None


def _spawn(config: LabConfig, state: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_IMPORT_ROOT, env.get("PYTHONPATH")) if p)
    command = [sys.executable, *SERVE_COMMAND, *config.argv()]
    with log.open("ab") as out:
        # A new session: the service outlives us and ignores the terminal's Ctrl-C and hangup.
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=state,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
    _spawned[proc.pid] = proc
    return proc


def _record(state: Path, pid: int, config: LabConfig) -> None:
    info: ServiceInfo = {
        "pid": pid,
        "bind": config.bind,
        "port": config.port,
        "url": config.url,
        "version": config.version,
        "mode": config.mode,
        "db": str(config.db),
        "log": str(state / LOG_FILE),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    }
    # The info first: a pidfile present means its description is too.
    _write_atomically(state / INFO_FILE, json.dumps(info, indent=2) + "\n")
    _write_atomically(state / PID_FILE, f"{pid}\n")


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _wait_ready(proc: subprocess.Popen[bytes], config: LabConfig, timeout: float) -> str | None:
    """None once the service answers HTTP; otherwise why it did not."""
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            return f"lab service exited with code {code} before answering on {config.url}"
        # Still alive after answering: the answer came from our service, not a squatter.
        if _answers_http(config) and proc.poll() is None:
            return None
        if time.monotonic() >= deadline:
            return f"lab service did not answer on {config.url} within {timeout:g}s"
        time.sleep(0.05)


def _answers_http(config: LabConfig) -> bool:
    connection = http.client.HTTPConnection(client_host(config.bind), config.port, timeout=1.0)
    try:
        connection.request("GET", "/version")
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _log_tail(log: Path, offset: int) -> str:
    try:
        with log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _read_pid(state: Path) -> int | None:
    try:
        return int((state / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _is_our_service(pid: int) -> bool:
    """Alive and, where /proc can tell, really a lab service (pids get reused)."""
    if not _alive(pid):
        return False
    try:
        return _serves_the_lab(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return False


def _serves_the_lab(argv: list[bytes]) -> bool:
    """The process's arguments hold SERVE_COMMAND (`-m runner lab serve`), word for word."""
    expected = [word.encode() for word in SERVE_COMMAND]
    return any(argv[i : i + len(expected)] == expected for i in range(len(argv)))


def _alive(pid: int) -> bool:
    """Running and ours to signal; a zombie has exited and only waits to be reaped."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the command name, which is in parentheses and may hold spaces.
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _signal(pid: int, signum: signal.Signals) -> None:
    # Gone already is what we wanted.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _wait_exit(pid: int, timeout: float) -> bool:
    proc = _spawned.get(pid)
    deadline = time.monotonic() + timeout
    while True:
        gone = proc.poll() is not None if proc is not None else not _alive(pid)
        if gone or time.monotonic() >= deadline:
            return gone
        time.sleep(0.02)
