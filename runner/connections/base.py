"""The one connection protocol every target kind implements: run, put, get, close."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

# The bounds every connection keeps (README.md, Targets). A command ends within its timeout
# plus GRACE_S: at the timeout it is killed on the target, and a target that does not
# answer the kill within the grace is unreachable. A cancelled command (Ctrl-C) ends within
# CANCEL_BOUND_S, whatever the target or the network do.
GRACE_S = 5.0
CANCEL_BOUND_S = 2.0


@dataclass(frozen=True)
class CommandSpec:
    """What to run: an argv (no shell) or a shell script, with its surroundings."""

    argv: tuple[str, ...] | None = None
    shell: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    stdin: str | None = None
    executable: str = "/bin/sh"
    # A step's own `become`/`become_user` (SSH); None: the host's settings decide.
    become: bool | None = None
    become_user: str | None = None

    def display(self) -> str:
        import shlex

        if self.shell is not None:
            return self.shell
        return shlex.join(self.argv or ())


@dataclass(frozen=True)
class CommandResult:
    rc: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    cancelled: bool = False


class CancelToken:
    """Set when the operator interrupts: running commands stop as soon as they notice."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""  # why it was cancelled, for the step's message
        # When it was first cancelled (monotonic): the watchdog forces blocked calls to end
        # a bounded time after this, whatever they are waiting for.
        self.cancelled_at: float | None = None

    def cancel(self, reason: str = "") -> None:
        self.reason = reason or self.reason
        if self.cancelled_at is None:
            self.cancelled_at = time.monotonic()
        self._event.set()

    def reset(self) -> None:
        self.reason = ""
        self.cancelled_at = None
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True early if cancelled."""
        return self._event.wait(seconds)


def local_limit(exc: BaseException | None) -> str:
    """Why `exc` is the controller running out of descriptors, or '' when it is not.

    A host lost this way is unreachable for a local reason; the message says so, so that
    nobody reads it as the host being down.
    """
    if not (isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE)):
        return ""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    which = "this process" if exc.errno == errno.EMFILE else "the system"
    return (
        f"local limit on the controller: too many open files in {which} (limit {soft}); "
        "the host's own state is unknown"
    )


class HostUnreachable(Exception):
    """The target could not be reached; the host is `unreachable`, not `failed`."""


class Connection(Protocol):
    """A target the runner can act on. Nothing above this module knows which kind it is."""

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult: ...

    def put(self, local_path: str, remote_path: str) -> None: ...

    def get(self, remote_path: str, local_path: str) -> None: ...

    def close(self) -> None: ...
