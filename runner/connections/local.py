"""Local processes: subprocess in its own process group, killed as a group on timeout."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time

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


class LocalConnection:
    """Runs commands on the controller itself."""

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        env = {**os.environ, **spec.env}
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
                text=True,
                errors="replace",
                start_new_session=True,  # its own group, so a timeout kills children too
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            return CommandResult(127, "", str(exc), time.monotonic() - started)
        except OSError as exc:
            if local_limit(exc):
                raise HostUnreachable(local_limit(exc)) from None
            raise
        deadline = None if timeout is None else started + timeout
        stdin = spec.stdin
        out_parts: list[str] = []
        err_parts: list[str] = []
        timed_out = cancelled = False
        while True:
            try:
                out, err = proc.communicate(input=stdin, timeout=POLL_S)
                out_parts.append(out or "")
                err_parts.append(err or "")
                break
            except subprocess.TimeoutExpired:
                stdin = None  # communicate() keeps what it already sent
            if cancel.cancelled:
                cancelled = True
            elif deadline is not None and time.monotonic() >= deadline:
                timed_out = True
            if timed_out or cancelled:
                out, err = _kill_group(proc)
                out_parts.append(out)
                err_parts.append(err)
                break
        rc = proc.returncode if proc.returncode is not None else -9
        return CommandResult(
            rc,
            "".join(out_parts),
            "".join(err_parts),
            time.monotonic() - started,
            timed_out,
            cancelled,
        )

    def put(self, local_path: str, remote_path: str) -> None:
        shutil.copyfile(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        shutil.copyfile(remote_path, local_path)

    def close(self) -> None:
        return None


def _kill_group(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """TERM the whole process group, then KILL it; return what it printed meanwhile."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            out, err = proc.communicate(timeout=wait)
            # The leader may be gone while children linger in the group: kill them too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            return out or "", err or ""
        except subprocess.TimeoutExpired:
            continue
    return "", ""
