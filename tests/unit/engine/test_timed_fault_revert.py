"""A fault with a `duration` runs its course before the rollback, and its revert, run by
the fault's own timer, is finished and checked before anything goes on: the rollback does
not start, nor does the run end, while the fault may still be in effect. A trigger cuts the
duration short.

Each drill runs in this process against a fake target (tests/fakes); the fault is the fake's
marker `timed`. A hook slows its revert down, as a slow target would.
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import runner.faults.ledger
import runner.faults.revert
from runner.history.rebuild import rebuild_result
from runner.results.codec import result_json
from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import InProcessRun, run_drill

SLOW_REVERT_S = 0.5
HUNG_S = 10.0


def timed_playbook(duration: str, inject_tail: str, revert: str = "fault-off timed") -> str:
    """A fault with a duration in inject, then `inject_tail` (a step that passes or fails)."""
    return (
        "drill: timed fault\nrollback_type: 2\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        "inject:\n"
        "  - name: timed\n"
        "    fault: {kind: custom, name: timed, inject: 'fault-on timed', "
        f"revert: '{revert}', check: 'fault-check timed', duration: {duration}}}\n"
        f"  - {{name: end of inject, shell: {inject_tail}}}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )


def revert_started(run: InProcessRun) -> list[str]:
    return [e["reason"] for e in run.events() if e["event"] == "fault_revert_started"]


def slow_revert(target: FakeTarget, name: str) -> None:
    """The revert's first command takes SLOW_REVERT_S: long enough for the drill to reach
    its rollback while the revert is still under way, were it not waited for."""
    slowed: list[Call] = []

    def hook(call: Call) -> None:
        if call.word in ("fault-off", "fail") and not slowed:
            slowed.append(call)
            time.sleep(SLOW_REVERT_S)

    target.on(name, hook)


def test_a_fault_with_a_duration_runs_its_course_before_the_rollback(tmp_path: Path) -> None:
    target = FakeTarget()
    run = run_drill(timed_playbook("300ms", "ok end-of-inject"), tmp_path, target)
    assert revert_started(run) == ["duration elapsed"]
    log = target.names()
    assert log.index("fault-off timed") < log.index("ok undo")
    assert run.exit_code == 0


def test_a_slow_timed_revert_is_finished_and_checked_before_the_rollback(tmp_path: Path) -> None:
    target = FakeTarget()
    slow_revert(target, "timed")
    run = run_drill(timed_playbook("100ms", "ok end-of-inject"), tmp_path, target)
    log = target.names()
    assert "fault-off timed" in log, log
    reverted = log.index("fault-off timed")
    # The check after the revert (the second one: the first followed the inject).
    checked = [i for i, entry in enumerate(log) if entry == "fault-check timed"][1]
    assert reverted < checked < log.index("ok undo")
    [record] = run.outcome.faults
    assert record.reverted_at != "" and not record.revert_failed
    assert target.faults_on == set()
    assert run.exit_code == 0


def test_a_timed_revert_that_fails_fails_the_run(
    tmp_path: Path, no_revert_pauses: list[float]
) -> None:
    target = FakeTarget()
    slow_revert(target, "revert-timed")
    text = timed_playbook("100ms", "ok end-of-inject", revert="fail revert-timed")
    run = run_drill(text, tmp_path, target)
    attempts = [entry for entry in target.names() if entry == "fail revert-timed"]
    assert len(attempts) == runner.faults.revert.REVERT_ATTEMPTS
    assert (run.exit_code, run.outcome.status) == (1, "failed")
    assert run.outcome.reason.startswith("fault not reverted: ")


def test_a_trigger_cuts_a_faults_duration_short(tmp_path: Path) -> None:
    target = FakeTarget()
    run = run_drill(timed_playbook("30s", "fail end-of-inject"), tmp_path, target)
    assert revert_started(run) == ["inject phase over"]
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "step_failed"
    assert target.faults_on == set() and target.ran("undo")


@pytest.fixture
def hung_revert(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeTarget, threading.Event]]:
    """A target that holds the timed fault's revert until the event is set (or HUNG_S), as
    a host that stopped answering mid-revert would; the revert's bound is cut to 0.3 s."""
    monkeypatch.setattr(runner.faults.ledger, "revert_bound_s", lambda plan, how: 0.3)
    release = threading.Event()
    target = FakeTarget()
    target.on("timed", lambda call: call.word == "fault-off" and release.wait(HUNG_S))
    yield target, release
    release.set()


def test_a_timed_revert_that_hangs_is_reported_at_its_bound_not_waited_on_for_ever(
    tmp_path: Path, hung_revert: tuple[FakeTarget, threading.Event]
) -> None:
    target, release = hung_revert
    text = timed_playbook("100ms", "ok end-of-inject")
    started = time.monotonic()
    try:
        run = run_drill(text, tmp_path, target)
        took = time.monotonic() - started
    finally:
        release.set()
    assert took < HUNG_S / 2, took
    assert (run.exit_code, run.outcome.status) == (1, "failed")
    assert run.outcome.reason.startswith("fault not reverted: ")
    [record] = run.outcome.faults
    assert record.revert_failed
    failed = [e for e in run.events() if e["event"] == "fault_revert_failed"]
    assert len(failed) == 1, failed  # reported once, though the run waits on it twice
    assert "may be in effect" in failed[0]["detail"]
    assert target.ran("undo")  # the rollback of the change still runs


def test_the_revert_bound_covers_every_attempt_at_its_timeouts() -> None:
    ledger = runner.faults.revert
    plan = types.SimpleNamespace(revert=("a", "b"))
    how = ledger.Convergence(attempts=3, deadline_s=5.0, settle_s=1.0)
    op_s = ledger.OP_TIMEOUT_S + ledger.OP_ALLOWANCE_S
    per_attempt = 4 * op_s + 1.0 + ledger.MAX_RETRY_DELAY_S
    assert ledger.revert_bound_s(plan, how) == pytest.approx(3 * per_attempt + 5.0)  # type: ignore[arg-type]


def test_a_revert_that_ends_after_its_bound_stays_a_failure_in_the_result_and_its_rebuild(
    tmp_path: Path, hung_revert: tuple[FakeTarget, threading.Event]
) -> None:
    # The hung revert is let go once the rollback runs: it ends while the journal is open.
    target, release = hung_revert
    target.on("undo", lambda call: release.set())
    try:
        run = run_drill(timed_playbook("100ms", "ok end-of-inject"), tmp_path, target)
    finally:
        release.set()
    reverted = [e for e in run.events() if e["event"] == "fault_reverted"]
    assert [e.get("late") for e in reverted] == [True], reverted
    [record] = run.outcome.faults
    assert record.revert_failed and record.reverted_at == reverted[0]["reverted_at"]
    assert run.outcome.status == "failed"
    [fault] = rebuilt_faults(run)
    assert (fault["revert_failed"], fault["reverted_at"]) == (True, record.reverted_at)


def test_a_rebuilt_result_gives_the_instant_the_runner_took_for_a_revert(tmp_path: Path) -> None:
    run = run_drill(timed_playbook("100ms", "ok end-of-inject"), tmp_path, FakeTarget())
    [record] = run.outcome.faults
    [event] = [e for e in run.events() if e["event"] == "fault_reverted"]
    assert event["reverted_at"] == record.reverted_at and "late" not in event
    [fault] = rebuilt_faults(run)
    assert (fault["revert_failed"], fault["reverted_at"]) == (False, record.reverted_at)


def rebuilt_faults(run: InProcessRun) -> list[dict[str, Any]]:
    """The faults of the result a rebuild from the run's journal gives."""
    faults: list[dict[str, Any]] = result_json(rebuild_result(run.events(), "rebuilt"))["faults"]
    return faults
