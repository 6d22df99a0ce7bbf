"""A fault script's waits are held to the clock, not only to a count of 0.1 s naps.

Each try of a wait takes time of its own (a search of /proc, a service's status command, a
nap that a busy host stretches): `restart_wait: 500ms` must not mean five slow tries. The
scripts run here in /bin/sh with a `sleep` that always takes a whole second, the way a try
that costs more than its nap looks from the outside.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from runner.faults.base import FaultContext
from runner.faults.process import ProcessKill
from runner.faults.scripts import _FUNCTIONS
from runner.faults.service import ServiceStop
from runner.inventory import implicit_localhost

SLOW_NAP_S = 1.0


@pytest.fixture
def slow_sleep(tmp_path: Path) -> dict[str, str]:
    """An environment whose `sleep` takes SLOW_NAP_S whatever it is asked for."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sleep"
    wrapper.write_text(f"#!/bin/sh\nexec /bin/sleep {SLOW_NAP_S:g}\n")
    wrapper.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def run_sh(script: str, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    proc = subprocess.run(
        ["/bin/sh", "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def context() -> FaultContext:
    return FaultContext(f"t{uuid.uuid4().hex[:12]}", "")


def test_the_restart_wait_ends_at_its_time_not_after_its_count_of_naps(
    slow_sleep: dict[str, str],
) -> None:
    localhost = implicit_localhost().hosts["localhost"]
    args = {"name": "dctl-none", "restart": "true", "restart_wait": "500ms", "wait": "500ms"}
    plan = ProcessKill().plan(args, localhost, context())
    state = Path(plan.revert[0].script.split("state=", 1)[1].split("\n", 1)[0].strip("'"))
    state.write_text("999999999\n")  # what inject killed: a pid long gone
    try:
        rc, output, took = run_sh(plan.revert[0].script, slow_sleep)
    finally:
        state.unlink(missing_ok=True)
        Path(f"{state}.log").unlink(missing_ok=True)
    assert rc == 1, output
    assert "restart ran, yet nothing matches name dctl-none" in output
    # One slow nap, then the 500 ms are over; counting naps it took five (5 s).
    assert SLOW_NAP_S <= took < 3 * SLOW_NAP_S, took


def test_a_service_stop_waits_its_timeout_not_its_count_of_naps(
    slow_sleep: dict[str, str], tmp_path: Path
) -> None:
    localhost = implicit_localhost().hosts["localhost"]
    args = {"stop": "true", "start": "true", "status": "true", "timeout": "500ms"}
    plan = ServiceStop().plan(args, localhost, context())
    rc, output, took = run_sh(plan.inject[0].script, slow_sleep)
    state = plan.revert[0].script.split("state=", 1)[1].split("\n", 1)[0].strip("'")
    Path(state).unlink(missing_ok=True)
    assert rc == 1, output
    assert "still running after stop" in output
    assert SLOW_NAP_S <= took < 3 * SLOW_NAP_S, took


CLOCK = _FUNCTIONS["clock"]


def test_the_clock_counts_hundredths_of_a_second() -> None:
    rc, output, _ = run_sh(CLOCK + "\na=$(cs); /bin/sleep 0.3; b=$(cs); echo $a $b")
    a, b = (int(x) for x in output.split())
    assert rc == 0 and a > 0
    assert 25 <= b - a <= 300, (a, b)


@pytest.mark.parametrize(
    ("check", "over"),
    [
        ('late 9 10 "$(deadline 500)"', False),  # tries left, time left
        ('late 10 10 "$(deadline 500)"', True),  # every try taken
        ('late 0 10 "$(deadline 0)"', True),  # its time is up
        ('late 0 10 "$(deadline 10)"; /bin/sleep 0.3; late 0 10 "$end"', True),
        ("late 3 10 0", False),  # no clock: only the count ends it
        ("late 10 10 0", True),
    ],
)
def test_a_wait_is_over_when_its_tries_or_its_time_run_out(check: str, over: bool) -> None:
    script = CLOCK + "\nend=$(deadline 10)\nif " + check + "; then echo over; else echo on; fi"
    rc, output, _ = run_sh(script)
    assert (rc, output.strip()) == (0, "over" if over else "on")


def test_an_unreadable_clock_reads_as_none(tmp_path: Path) -> None:
    # The functions read /proc/uptime; with a `read` that fails, cs says 0 and deadline 0.
    script = CLOCK.replace("/proc/uptime", str(tmp_path / "no-such-file")) + (
        '\necho "$(cs) $(deadline 100)"'
    )
    rc, output, _ = run_sh(script)
    assert (rc, output.strip()) == (0, "0 0")
