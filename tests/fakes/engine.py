"""The engine in-process: a real playbook, plan, journal and DrillRun over a FakeTarget.

`run_drill` goes through the same use case as `drillctl run` (`prepare` then `execute`),
with fake connections instead of real ones, so a drill takes milliseconds and a test can
deliver signals from inside a step with `Signals.send`.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.connections.pool import ConnectionPool
from runner.engine.outcome import DrillOutcome
from runner.run.console import TerminalView
from runner.run.launch import execute
from runner.run.prepare import RunRequest, prepare
from runner.secrets import SecretMask
from tests.fakes.connection import FakeTarget

SIGNAL_TIMEOUT_S = 5.0


class RecordingView(TerminalView):
    """The terminal view, writing to memory and keeping the notices for assertions."""

    def __init__(self, mask: SecretMask) -> None:
        super().__init__(mask, stream=io.StringIO())
        self.notices: list[str] = []
        self._notices_lock = threading.Lock()

    def notice(self, text: str) -> None:
        with self._notices_lock:
            self.notices.append(text)
        super().notice(text)

    def count(self, prefix: str) -> int:
        with self._notices_lock:
            return sum(1 for n in self.notices if n.startswith(prefix))

    @property
    def text(self) -> str:
        stream = self.stream
        assert isinstance(stream, io.StringIO)
        return stream.getvalue()


class Signals:
    """Delivers real signals to this process from inside a step, one at a time.

    The kernel merges a signal that arrives while the same one is pending, so `send`
    waits until the drill has reacted (its notice is out) before it returns.
    """

    def __init__(self) -> None:
        self.view: RecordingView | None = None

    def send(self, sig: int) -> None:
        view = self.view
        assert view is not None, "the drill has not started"
        name = signal.Signals(sig).name
        before = view.count(name)
        os.kill(os.getpid(), sig)
        deadline = time.monotonic() + SIGNAL_TIMEOUT_S
        while view.count(name) == before:
            assert time.monotonic() < deadline, f"the drill never reacted to {name}"
            time.sleep(0.005)


@dataclass(frozen=True)
class InProcessRun:
    outcome: DrillOutcome
    run_dir: Path
    view: RecordingView

    @property
    def exit_code(self) -> int:
        return int(self.outcome.exit_code)

    def events(self) -> list[dict[str, Any]]:
        lines = (self.run_dir / "journal.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def result(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.run_dir / "result.json").read_text())
        return loaded

    def phases_started(self) -> list[str]:
        return [e["phase"] for e in self.events() if e["event"] == "phase_started"]

    def skipped(self) -> dict[str, str]:
        return {e["phase"]: e["reason"] for e in self.events() if e["event"] == "phase_skipped"}


def run_drill(
    playbook_text: str,
    tmp_path: Path,
    target: FakeTarget,
    signals: Signals | None = None,
    **request: Any,
) -> InProcessRun:
    """Run `playbook_text` in this process against `target`; the evidence goes to tmp_path."""
    playbook = tmp_path / "drill.yml"
    playbook.write_text(playbook_text)
    prepared = prepare(
        RunRequest(playbook=str(playbook), out=str(tmp_path / "run"), operator="test", **request)
    )
    view = RecordingView(prepared.mask)
    if signals is not None:
        signals.view = view
    outcome, run_dir = execute(prepared, view, ConnectionPool(target.factories()))
    return InProcessRun(outcome, run_dir, view)


def write_inventory(tmp_path: Path, hosts: dict[str, dict[str, Any]]) -> str:
    """An inventory of local-connection hosts (served by the fake target) with their vars."""
    lines = ["all:", "  hosts:"]
    for name, host_vars in hosts.items():
        fields = ", ".join(
            f"{k}: {json.dumps(v)}" for k, v in {"connection": "local", **host_vars}.items()
        )
        lines.append(f"    {name}: {{{fields}}}")
    path = tmp_path / "inventory.yml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


class FakeClock:
    """A monotonic clock that moves only when a test advances it (verdicts on durations).

    Start and steps are binary-exact floats, so `end - start` is exactly the time advanced.
    """

    def __init__(self, start: float = 1024.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
