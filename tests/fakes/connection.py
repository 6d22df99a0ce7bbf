"""A scripted target for in-process engine tests: no processes, no network, no sleeps.

Playbooks written for it use a small command language, one word and a name per command:

    ok NAME                            succeeds
    fail NAME                          exits 1
    hang NAME                          runs until the step is cancelled (or its timeout)
    fault-on NAME / fault-off NAME     sets / clears a fault marker on the target
    fault-check NAME                   exits 0 while the marker is set (the fault's check)

A host named in `FakeTarget.unreachable` cannot be connected to (HostUnreachable), as an SSH
host that does not answer.

Before its effect, a command calls the hook a test registered for its NAME (tests deliver
signals from there, as a real step would see them: mid-step). Every command is logged, in
order, with its host, so a test can assert what ran and in which order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from runner.connections.base import CancelToken, CommandResult, CommandSpec, Connection
from runner.connections.pool import HostUnreachable
from runner.inventory.model import Host

HANG_LIMIT_S = 10.0  # a `hang` that nobody cancels fails the test instead of blocking it


@dataclass(frozen=True)
class Call:
    """One command as the target received it."""

    host: str
    word: str
    name: str
    cancel: CancelToken


Hook = Callable[[Call], None]


class FakeTarget:
    """The state every fake connection of one test shares: a log, fault markers, hooks."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []  # (host, word, name) in the order run
        self.faults_on: set[str] = set()
        self.hooks: dict[str, Hook] = {}
        self.unreachable: set[str] = set()  # host names whose connection cannot be opened
        self._lock = threading.Lock()

    def factories(self) -> dict[str, Callable[[Host], Connection]]:
        """Connection factories for every target kind, for `ConnectionPool(factories)`."""
        return {kind: self.connection for kind in ("local", "ssh", "docker")}

    def connection(self, host: Host) -> Connection:
        return FakeConnection(self, host.name)

    def on(self, name: str, hook: Hook) -> None:
        self.hooks[name] = hook

    def ran(self, name: str) -> bool:
        """A command named `name` ran to its end (not cancelled, not timed out) on some host."""
        return any(n == name and w not in ("cancelled", "timed-out") for _, w, n in self.snapshot())

    def names(self) -> list[str]:
        """`word name` of every command, in order; cancelled commands as `cancelled name`."""
        return [f"{w} {n}" for _, w, n in self.snapshot()]

    def snapshot(self) -> list[tuple[str, str, str]]:
        with self._lock:
            return list(self.log)

    def _record(self, host: str, word: str, name: str) -> None:
        with self._lock:
            self.log.append((host, word, name))

    def execute(
        self, host: str, spec: CommandSpec, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        """Carry out one command of the language above."""
        started = time.monotonic()
        text = spec.shell if spec.shell is not None else " ".join(spec.argv or ())
        # A fault's shell carries `FAULT_ID=…; export FAULT_ID; ` before the author's command.
        word, _, name = text.rsplit(";", 1)[-1].strip().partition(" ")
        call = Call(host, word, name.strip(), cancel)
        hook = self.hooks.get(call.name)
        if hook is not None:
            hook(call)
        if word == "hang":
            limit = min(timeout or HANG_LIMIT_S, HANG_LIMIT_S)
            if not cancel.wait(limit):
                self._record(host, "timed-out", call.name)
                return CommandResult(-9, "", "timed out", time.monotonic() - started, True)
        if cancel.cancelled:
            self._record(host, "cancelled", call.name)
            return CommandResult(-15, "", "cancelled", time.monotonic() - started, False, True)
        self._record(host, word, call.name)
        rc = 0
        if word == "fail":
            rc = 1
        elif word == "fault-on":
            with self._lock:
                self.faults_on.add(call.name)
        elif word == "fault-off":
            with self._lock:
                self.faults_on.discard(call.name)
        elif word == "fault-check":
            with self._lock:
                rc = 0 if call.name in self.faults_on else 1
        elif word != "ok":
            return CommandResult(127, "", f"fake target: unknown command {text!r}", 0.0)
        return CommandResult(rc, f"{word} {call.name}\n", "", time.monotonic() - started)


class FakeConnection:
    """The connection protocol over a FakeTarget."""

    def __init__(self, target: FakeTarget, host: str) -> None:
        self.target = target
        self.host = host

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        return self.target.execute(self.host, spec, timeout, cancel)

    def connect(self, cancel: CancelToken | None = None) -> None:
        if self.host in self.target.unreachable:
            raise HostUnreachable(f"{self.host}: connection refused (fake target)")

    def put(self, local_path: str, remote_path: str) -> None:
        raise NotImplementedError("the fake target has no files")

    def get(self, remote_path: str, local_path: str) -> None:
        raise NotImplementedError("the fake target has no files")

    def close(self) -> None:
        pass
