"""`serial` batches and `max_fail_percentage`, through the engine, in process.

Hosts are local-connection hosts served by the fake target; a host var `bad` makes a step
fail on that host (`fail NAME` instead of `ok NAME`).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import InProcessRun, run_drill, write_inventory

HOSTS = ("h1", "h2", "h3", "h4", "h5")


def fanout_playbook(serial: Any = None, max_fail_percentage: float | None = None) -> str:
    text = "drill: fan-out\nrollback_type: 2\nforks: 10\n"
    if serial is not None:
        text += f"serial: {serial!r}\n" if not isinstance(serial, list) else f"serial: {serial}\n"
    if max_fail_percentage is not None:
        text += f"max_fail_percentage: {max_fail_percentage}\n"
    word = "{{ 'fail' if bad else 'ok' }}"
    return text + (
        f'deploy:\n  - {{name: change, shell: "{word} change"}}\n'
        "  - {name: after, shell: ok after}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )


class Concurrency:
    """Counts how many hosts run `change` at once (each holds it for a few milliseconds)."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.01)
        with self._lock:
            self.running -= 1


def fanout(
    tmp_path: Path, hosts: tuple[str, ...], bad: tuple[str, ...] = (), **playbook: Any
) -> tuple[InProcessRun, FakeTarget, Concurrency]:
    target = FakeTarget()
    concurrency = Concurrency()
    target.on("change", concurrency)
    inventory = write_inventory(tmp_path, {h: {"bad": h in bad} for h in hosts})
    run = run_drill(fanout_playbook(**playbook), tmp_path, target, inventory=inventory)
    return run, target, concurrency


def hosts_of(target: FakeTarget, name: str) -> list[str]:
    return [host for host, _, n in target.snapshot() if n == name]


@pytest.mark.parametrize(
    ("serial", "batches"),
    [
        pytest.param(2, [2, 2, 1], id="number"),
        pytest.param("40%", [2, 2, 1], id="percentage"),
        pytest.param("50%", [2, 2, 1], id="percentage-rounds-down"),
        pytest.param("10%", [1, 1, 1, 1, 1], id="percentage-at-least-one-host"),
        pytest.param([1, "50%"], [1, 2, 2], id="list-last-repeats"),
        pytest.param(None, [5], id="none-all-at-once"),
    ],
)
def test_serial_runs_a_step_in_batches_each_finishing_before_the_next(
    tmp_path: Path, serial: Any, batches: list[int]
) -> None:
    run, target, concurrency = fanout(tmp_path, HOSTS, serial=serial)
    order = hosts_of(target, "change")
    start = 0
    for size in batches:
        # Batches take hosts in inventory order; within a batch any order.
        assert set(order[start : start + size]) == set(HOSTS[start : start + size]), order
        start += size
    assert start == len(order) == len(HOSTS)
    assert concurrency.most <= max(batches)
    assert run.exit_code == 0


def test_a_failure_within_max_fail_percentage_drops_the_host_from_the_change_only(
    tmp_path: Path,
) -> None:
    # 1 of 4 hosts is exactly 25 %: tolerated.
    run, target, _ = fanout(tmp_path, HOSTS[:4], bad=("h1",), max_fail_percentage=25)
    assert sorted(hosts_of(target, "after")) == ["h2", "h3", "h4"]
    # The failed host is still rolled back and verified.
    assert sorted(hosts_of(target, "undo")) == ["h1", "h2", "h3", "h4"]
    assert sorted(hosts_of(target, "check")) == ["h1", "h2", "h3", "h4"]
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "rehearsal"
    assert run.exit_code == 0


def test_one_host_over_max_fail_percentage_fails_the_step_and_starts_the_rollback(
    tmp_path: Path,
) -> None:
    # 2 of 4 hosts is 50 %: over the 25 % tolerated.
    run, target, _ = fanout(tmp_path, HOSTS[:4], bad=("h1", "h2"), max_fail_percentage=25)
    assert hosts_of(target, "after") == []
    trigger = run.outcome.trigger
    assert trigger is not None and (trigger.kind, trigger.step) == ("step_failed", "change")
    assert sorted(hosts_of(target, "undo")) == ["h1", "h2", "h3", "h4"]


def test_without_max_fail_percentage_one_failed_host_fails_the_step(tmp_path: Path) -> None:
    run, target, _ = fanout(tmp_path, HOSTS[:4], bad=("h4",))
    assert hosts_of(target, "after") == []
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "step_failed"


def test_later_batches_do_not_start_once_failures_cross_the_percentage(tmp_path: Path) -> None:
    run, target, _ = fanout(tmp_path, HOSTS[:4], bad=("h1", "h2"), serial=1, max_fail_percentage=25)
    # h1 alone is 25 % (tolerated), h1 + h2 is 50 %: h3 and h4 never start.
    assert hosts_of(target, "change") == ["h1", "h2"]
    change = next(s for s in run.result()["steps"] if s["name"] == "change")
    assert change["status"] == "failed"
    results = [e for e in run.events() if e["event"] == "host_result" and e["step"] == "change"]
    assert {e["host"]: e["status"] for e in results} == {"h1": "failed", "h2": "failed"}
    skipped = [h for h in run.outcome.steps()[0].hosts if h.status == "skipped"]
    assert [(h.host, h.msg) for h in skipped] == [
        ("h3", "an earlier batch failed"),
        ("h4", "an earlier batch failed"),
    ]


def test_batches_go_on_while_failures_stay_within_the_percentage(tmp_path: Path) -> None:
    run, target, _ = fanout(tmp_path, HOSTS[:4], bad=("h1",), serial=1, max_fail_percentage=25)
    assert hosts_of(target, "change") == ["h1", "h2", "h3", "h4"]
    assert run.exit_code == 0
