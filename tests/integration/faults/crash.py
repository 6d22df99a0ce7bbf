"""Killing a runner with SIGKILL at a chosen point of its journal, for the torture tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO, child_env, drillctl_argv


def journal_lines(run_dir: Path) -> int:
    try:
        return (run_dir / "journal.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_points(total: int, count: int) -> list[int]:
    """`count` journal line numbers spread evenly over a run of `total` lines."""
    return sorted({max(1, round(total * (i + 1) / (count + 1))) for i in range(count)})


def run_and_kill_at(
    args: list[str], run_dir: Path, line: int, timeout: float = 30, after_s: float = 0.0
) -> None:
    """Start `drillctl run ARGS --out RUN_DIR` and SIGKILL it `after_s` seconds after its
    journal has `line` lines (in the middle of the operation that follows, if it is slow)."""
    killed = run_and_kill_when(
        args, run_dir, lambda: journal_lines(run_dir) >= line, timeout, after_s
    )
    reached = journal_lines(run_dir) >= line
    assert killed or reached, (
        f"the runner ended before its journal reached line {line}:\n{_output(run_dir)}"
    )


def _output(run_dir: Path) -> str:
    """What the runner printed (kept beside its run directory, for a failure's message)."""
    try:
        return run_dir.with_name(run_dir.name + ".out").read_text(errors="replace")[-4000:]
    except FileNotFoundError:
        return "(no output)"


def run_and_kill_when(
    args: list[str],
    run_dir: Path,
    ready: Callable[[], bool],
    timeout: float = 30,
    after_s: float = 0.0,
) -> bool:
    """Start `drillctl run ARGS --out RUN_DIR` and SIGKILL it `after_s` seconds after
    `ready()` holds.

    True when the runner was still going when killed (False: it ended first).
    """
    with run_dir.with_name(run_dir.name + ".out").open("wb") as output:
        runner = subprocess.Popen(
            drillctl_argv("run", *args, "--out", str(run_dir)),
            cwd=REPO,
            env=child_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout
    while not ready() and runner.poll() is None:
        if time.monotonic() >= deadline:
            runner.kill()
            runner.wait()
            raise AssertionError(f"the kill point never came within {timeout} s")
        time.sleep(0.002)
    if after_s > 0:
        with contextlib.suppress(subprocess.TimeoutExpired):
            runner.wait(after_s)
    killed = runner.poll() is None  # never a pid already reaped (and perhaps reused)
    if killed:
        os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    return killed
