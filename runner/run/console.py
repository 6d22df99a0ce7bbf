"""What the operator sees: a live view on a terminal, plain lines everywhere else.

Every line passes through the run's secret mask before it is printed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

from runner.durations import format_duration
from runner.engine.results import FAILED, IGNORED, INTERRUPTED, OK, SKIPPED, UNREACHABLE, HostResult
from runner.playbook.model import Step
from runner.secrets import SecretMask

_STYLES = {
    OK: "green",
    FAILED: "bold red",
    UNREACHABLE: "bold magenta",
    IGNORED: "yellow",
    SKIPPED: "dim",
    INTERRUPTED: "bold yellow",
}


class TerminalView:
    """Prints phases, steps and per-host results as they happen."""

    def __init__(self, mask: SecretMask, *, verbose: int = 0, stream: TextIO | None = None) -> None:
        self.mask = mask
        self.verbose = verbose
        stream = stream or sys.stdout
        plain = bool(os.environ.get("NO_COLOR")) or not stream.isatty()
        self.live = not plain
        self.stream = stream
        self.console: Any = None
        if self.live:  # rich only where there is a terminal to draw on (it costs ~70 ms to load)
            from rich.console import Console

            self.console = Console(
                file=stream, highlight=False, force_terminal=True, soft_wrap=True, emoji=False
            )
        self._lock = threading.Lock()
        self._status: Any = None
        self._step_started = 0.0
        self._step_label = ""
        self._ticker: threading.Thread | None = None

    # -- output primitives -------------------------------------------------
    def say(self, text: str, style: str = "") -> None:
        with self._lock:
            line = self.mask.mask(text)
            if self.console is None:
                self.stream.write(line + "\n")
                self.stream.flush()
                return
            from rich.markup import escape

            self.console.print(f"[{style}]{escape(line)}[/]" if style else escape(line))

    def notice(self, text: str) -> None:
        self.say(f"! {text}", "bold yellow")

    # -- drill events --------------------------------------------------------
    def run_started(self, drill: str, hosts: int, run_dir: str) -> None:
        self.say(f"drill {drill} · {hosts} host{'s' if hosts != 1 else ''} · {run_dir}", "bold")

    def phase_started(self, phase: str) -> None:
        self.say(f"▸ {phase}", "bold cyan")

    def phase_skipped(self, phase: str, why: str) -> None:
        self.say(f"▸ {phase}: skipped ({why})", "dim")

    def step_started(self, step: Step, hosts: list[Any]) -> None:
        self._step_started = time.monotonic()
        self._step_label = f"{step.name} on {len(hosts)} host{'s' if len(hosts) != 1 else ''}"
        if self.live:
            self._start_status()

    def host_done(self, step: Step, result: HostResult) -> None:
        status = result.status.upper() if result.failed else result.status
        detail = f": {result.msg}" if result.msg and result.status != OK else ""
        took = format_duration(result.duration_s)
        self.say(
            f"  {status:<11} {result.host:<14} {step.name} ({took}){detail}",
            _STYLES.get(result.status, ""),
        )
        if self.verbose or (result.failed and (result.stdout or result.stderr)):
            for label, text in (("stdout", result.stdout), ("stderr", result.stderr)):
                # Masked whole, before it is split: a secret may span lines (a PEM key).
                lines = self.mask.mask(text).strip().splitlines()
                if not lines:
                    continue
                shown = lines if self.verbose else lines[-5:]
                for line in shown:
                    self.say(f"      {label}| {line}", "dim")

    def diff(self, step: Step, host: str, text: str) -> None:
        """What a step changed in a file (`--diff`), masked whole before it is split."""
        lines = self.mask.mask(text).rstrip("\n").splitlines()
        self.say(f"      --diff {host} {step.name}:", "dim")
        for line in lines:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            self.say(f"      {line}", style)

    def _start_status(self) -> None:
        # A spinner line with the running step and its elapsed time (terminal only).
        if self._ticker is not None:
            return

        from rich.markup import escape

        def tick() -> None:
            with self.console.status("", spinner="dots") as status:
                self._status = status
                while self._status is not None:
                    elapsed = time.monotonic() - self._step_started
                    label = escape(self.mask.mask(self._step_label))
                    status.update(f"{label} · {elapsed:.1f}s")
                    time.sleep(0.1)

        self._ticker = threading.Thread(target=tick, daemon=True)
        self._ticker.start()

    def close(self) -> None:
        if self._ticker is not None:
            self._status = None
            self._ticker.join(timeout=1)
            self._ticker = None
