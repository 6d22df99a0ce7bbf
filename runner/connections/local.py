"""Local processes: subprocess in its own process group, killed as a group on timeout."""

from __future__ import annotations

import contextlib
import locale
import os
import select
import selectors
import shutil
import signal
import subprocess
import time
from typing import IO

from runner.connections.base import (
    CancelToken,
    CommandResult,
    CommandSpec,
    HostUnreachable,
    local_limit,
)

# Time a process group gets between SIGTERM and SIGKILL.
KILL_GRACE_S = 1.0
POLL_S = 0.05
# What `Popen(text=True)` decodes output with (and encodes input with).
_ENCODING = locale.getpreferredencoding(False)


class LocalConnection:
    """Runs commands on the controller itself."""

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        # None inherits this process's environment as a copy would, without building one
        # and encoding every variable again for each step.
        env = {**os.environ, **spec.env} if spec.env else None
        args: list[str] | str = (
            list(spec.argv) if spec.argv is not None else [spec.executable, "-c", spec.shell or ""]
        )
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE if spec.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=spec.cwd,
                env=env,
                start_new_session=True,  # its own group, so a timeout kills children too
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            return CommandResult(127, "", str(exc), time.monotonic() - started)
        except OSError as exc:
            if local_limit(exc):
                raise HostUnreachable(local_limit(exc)) from None
            raise
        deadline = None if timeout is None else started + timeout
        stdin = None if spec.stdin is None else spec.stdin.encode(_ENCODING, "replace")
        out, err, stopped = _collect(proc, stdin, deadline, cancel)
        if stopped:
            more_out, more_err = _kill_group(proc)
            out, err = out + more_out, err + more_err
        rc = proc.returncode if proc.returncode is not None else -9
        return CommandResult(
            rc,
            _text(out),
            _text(err),
            time.monotonic() - started,
            stopped == "timed out",
            stopped == "cancelled",
        )

    def put(self, local_path: str, remote_path: str) -> None:
        shutil.copyfile(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        shutil.copyfile(remote_path, local_path)

    def close(self) -> None:
        return None


def _collect(
    proc: subprocess.Popen[bytes], stdin: bytes | None, deadline: float | None, cancel: CancelToken
) -> tuple[bytes, bytes, str]:
    """Feed `stdin`, read stdout and stderr until the process has exited and closed both.

    Returns what it printed and why it was stopped early: "" (it finished), "cancelled" or
    "timed out" (then it still runs: the caller kills its group). The exit is watched through
    a pidfd, so a step ends the moment its process does: `Popen.communicate` with a timeout
    (which the cancel check needs) polls for the exit with sleeps of 1 ms and more.
    """
    assert proc.stdout is not None and proc.stderr is not None
    output: dict[int, list[bytes]] = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    pidfd = _pidfd(proc.pid)
    exited = False
    stopped = ""
    sent = 0
    # poll() needs no kernel object per process (epoll costs five more system calls a step).
    with _selector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        if proc.stdin is not None:
            if stdin:
                sel.register(proc.stdin, selectors.EVENT_WRITE)
            else:
                _close_stdin(proc)
        if pidfd is not None:
            sel.register(pidfd, selectors.EVENT_READ)

        def finished() -> bool:
            pipes_open = any(key.fileobj is not pidfd for key in sel.get_map().values())
            return not pipes_open and (exited or proc.poll() is not None)

        try:
            while not finished():
                if len(sel.get_map()) == 0:  # no pidfd, pipes closed: wait as communicate() does
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=POLL_S)
                    continue
                for key, _ in sel.select(POLL_S):
                    if key.fileobj is pidfd:
                        sel.unregister(pidfd)
                        exited = True
                    elif key.fileobj is proc.stdin:
                        assert stdin is not None
                        try:
                            sent += os.write(key.fd, stdin[sent : sent + select.PIPE_BUF])
                        except BrokenPipeError:
                            sent = len(stdin)  # it stopped reading: not an error, as communicate()
                        if sent >= len(stdin):
                            sel.unregister(proc.stdin)
                            _close_stdin(proc)
                    else:
                        chunk = os.read(key.fd, 32768)
                        if chunk:
                            output[key.fd].append(chunk)
                        else:
                            sel.unregister(key.fileobj)
                            _close(key.fileobj)  # type: ignore[arg-type]
                if finished():
                    break
                if cancel.cancelled:
                    stopped = "cancelled"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    stopped = "timed out"
                    break
        finally:
            if pidfd is not None:
                os.close(pidfd)
    if not stopped:
        proc.wait()  # it has exited: this only reaps it
    out, err = (b"".join(chunks) for chunks in output.values())
    return out, err, stopped


def _selector() -> selectors.BaseSelector:
    """A selector for three descriptors: poll where there is one, else the platform's best."""
    if hasattr(selectors, "PollSelector"):
        return selectors.PollSelector()
    return selectors.DefaultSelector()


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when `pid` exits (Linux 5.3+), or None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _close_stdin(proc: subprocess.Popen[bytes]) -> None:
    """Close the process's stdin; communicate() (the kill path) must not flush it after."""
    if proc.stdin is not None:
        _close(proc.stdin)
        proc.stdin = None


def _close(pipe: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        pipe.close()


def _text(data: bytes) -> str:
    """As `Popen(text=True, errors="replace")` decodes output: universal newlines."""
    return data.decode(_ENCODING, "replace").replace("\r\n", "\n").replace("\r", "\n")


def _kill_group(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """TERM the whole process group, then KILL it; return what it printed meanwhile."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            out, err = proc.communicate(timeout=wait)
            # The leader may be gone while children linger in the group: kill them too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return out or b"", err or b""
        except subprocess.TimeoutExpired:
            continue
    return b"", b""
