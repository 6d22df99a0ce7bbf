"""Shared helpers: run drillctl as a user would, find free ports, write playbooks."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

# Inventory locks of this test session, apart from drills others run on the machine (a
# developer's drill on localhost must not make the suite fail, nor the suite block it).
LOCK_DIR = tempfile.mkdtemp(prefix="drillctl-test-locks-")
os.environ["DRILLCTL_LOCK_DIR"] = LOCK_DIR
# Gone with the process that made it (every worker of a run makes its own).
atexit.register(shutil.rmtree, LOCK_DIR, True)
# Test drills are not history; tests of the history store name their own.
os.environ.setdefault("DRILLCTL_HISTORY", "off")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true every prerequisite must be there: a skipped test is a failed one."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where nothing may skip: {reason}"


@pytest.fixture(autouse=True)
def own_lock_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test its own lock directory: a test that leaves a fault not reverted on purpose
    must not make the next test's drill refuse to start (the last-run record is per lock dir)."""
    path = Path(tempfile.mkdtemp(prefix="t-", dir=LOCK_DIR))
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def drillctl_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "runner", *args]


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def python_child(code: str, *args: str, cwd: Path | None = None, **env: str) -> str:
    """Run `code` (with `args`) in a fresh interpreter, in the suite's environment plus
    `env`; its standard output. A child that fails fails the test, with its stderr."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


INTERRUPT_GRACE_S = 60.0


def run_drillctl(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """drillctl in a child process. A child past its time (or a test stopped by its own time
    limit) is interrupted as an operator would, with Ctrl-C, so its rollback and clean-up
    still run and no lab server or fault it started outlives the test; only a child that
    ignores that too is killed."""
    argv = drillctl_argv(*args)
    child = subprocess.Popen(
        argv,
        cwd=cwd or REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = child.communicate(timeout=timeout)
    except BaseException:
        child.send_signal(signal.SIGINT)
        try:
            child.communicate(timeout=INTERRUPT_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
        raise
    return subprocess.CompletedProcess(argv, child.returncode, out, err)


def run_quickstart(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """The README's quick start on the local lab, on a free port, its evidence in `out`."""
    return run_drillctl(
        "run",
        "playbooks/quickstart.yml",
        "-i",
        "inventories/local.yml",
        "-e",
        f"lab_port={free_port()}",
        "--out",
        str(out),
        *extra,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def write_playbook(tmp_path: Path) -> Iterator[Any]:
    def write(text: str, name: str = "drill.yml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    yield write
