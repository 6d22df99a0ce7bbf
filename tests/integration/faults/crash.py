"""Killing a runner with SIGKILL at a chosen point of its journal, for the torture tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
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
    runner = subprocess.Popen(
        drillctl_argv("run", *args, "--out", str(run_dir)),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while journal_lines(run_dir) < line and runner.poll() is None:
        assert time.monotonic() < deadline, f"the journal never reached line {line}"
        time.sleep(0.002)
    if after_s > 0:
        with contextlib.suppress(subprocess.TimeoutExpired):
            runner.wait(after_s)
    if runner.poll() is None:  # never a pid already reaped (and perhaps reused)
        os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
