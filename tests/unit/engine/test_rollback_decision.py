"""The decision to roll back, as a drill takes and records it: automatic or manual, who
approved it and when, a wait that timed out, and the time it took (result.json's
`time_to_decide_s`). A manual decision is asked only for a trigger that detected something;
a rehearsal rolls back without asking.

Each drill runs in this process against a fake target (tests/fakes); an approval is given
the way `drillctl approve RUN_DIR` gives it, from a thread, once the run waits for it.
"""

from __future__ import annotations

import io
import signal
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

import runner.engine.monitor
from runner.engine.monitor import approve, waiting_for_decision
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import InProcessRun, Signals, run_drill

WAIT_S = 10.0


def playbook(deploy: str = "ok change", decision: str = "", when: str = "always") -> str:
    text = (
        f"drill: decision\nrollback_type: 2\nrollback_when: {when}\n"
        f"deploy:\n  - {{name: change, shell: {deploy}}}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )
    return text + (f"decision: {decision}\n" if decision else "")


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """No operator at a terminal: approvals come only from `drillctl approve`."""
    monkeypatch.setattr("sys.stdin", io.StringIO())


def decision_event(run: InProcessRun) -> dict[str, Any]:
    [event] = [e for e in run.events() if e["event"] == "decision"]
    return event


def assert_decided_within_the_run(run: InProcessRun) -> float:
    outcome = run.outcome
    decided = outcome.decided_mono
    assert decided is not None and outcome.started_mono <= decided <= outcome.ended_mono
    return decided


def test_an_automatic_decision_is_recorded_and_timed_from_the_detection(tmp_path: Path) -> None:
    run = run_drill(playbook(deploy="fail change"), tmp_path, FakeTarget())
    event = decision_event(run)
    assert (event["decision"], event["mode"], event["timed_out"]) == ("rollback", "auto", False)
    assert (event["approved_by"], event["approved_at"], event["approved_via"]) == ("", "", "")
    assert event["approvals"] == []
    assert run.outcome.approvals == ()
    decided = assert_decided_within_the_run(run)
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "step_failed"
    measured = run.result()["measured"]
    assert measured["time_to_decide_s"] == round(max(0.0, decided - trigger.mono), 3)
    assert run.exit_code == 0


def test_an_interrupt_with_an_automatic_decision_is_no_approval(tmp_path: Path) -> None:
    target = FakeTarget()
    signals = Signals()
    target.on("change", lambda call: signals.send(signal.SIGINT))
    run = run_drill(playbook(), tmp_path, target, signals)
    event = decision_event(run)
    assert (event["decision"], event["mode"], event["approved_by"]) == ("rollback", "auto", "")
    assert run.outcome.approvals == ()
    trigger = run.outcome.trigger
    assert trigger is not None and (trigger.kind, trigger.detail) == ("interrupt", "interrupted")
    assert "rollback triggered: interrupted" in run.view.notices
    assert run.exit_code == 130


def test_a_rehearsal_rolls_back_without_asking_for_a_manual_decision(tmp_path: Path) -> None:
    manual = "{manual: true, timeout: 300ms, on_timeout: abort}"
    run = run_drill(playbook(decision=manual), tmp_path, FakeTarget())
    assert not [e for e in run.events() if e["event"] == "decision_requested"]
    event = decision_event(run)
    assert (event["decision"], event["mode"], event["timed_out"]) == ("rollback", "auto", False)
    trigger = run.outcome.trigger
    assert trigger is not None
    assert (trigger.kind, trigger.detail) == ("rehearsal", "rollback_when: always")
    assert "rollback triggered: rollback_when: always" in run.view.notices
    assert run.outcome.rolled_back and run.exit_code == 0


@pytest.mark.parametrize(
    ("on_timeout", "decided", "rolled_back"),
    [("abort", "no rollback", False), ("rollback", "rollback", True)],
)
def test_a_manual_decision_that_times_out_follows_on_timeout(
    tmp_path: Path, on_timeout: str, decided: str, rolled_back: bool
) -> None:
    manual = f"{{manual: true, timeout: 300ms, on_timeout: {on_timeout}}}"
    target = FakeTarget()
    run = run_drill(playbook(deploy="fail change", decision=manual), tmp_path, target)
    event = decision_event(run)
    assert (event["decision"], event["mode"], event["timed_out"]) == (decided, "manual", True)
    assert event["approved_by"] == "" and event["approvals"] == []
    assert run.outcome.rolled_back is rolled_back and target.ran("undo") is rolled_back
    if not rolled_back:
        assert run.skipped()["rollback"] == "no decision in time (decision on_timeout: abort)"
    assert_decided_within_the_run(run)


def test_an_approved_manual_decision_records_who_approved_it_when_and_how(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    given: list[Path] = []

    def approve_when_asked() -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if (run_dir / "journal.jsonl").is_file() and waiting_for_decision(run_dir) == "":
                given.append(approve(run_dir, "alice"))
                return
            time.sleep(0.02)

    approver = threading.Thread(target=approve_when_asked, daemon=True)
    target = FakeTarget()
    target.on("change", lambda call: approver.start())
    manual = "{manual: true, timeout: 30s, on_timeout: abort}"
    run = run_drill(playbook(deploy="fail change", decision=manual), tmp_path, target)
    approver.join(WAIT_S)
    assert given, "the run never waited for a decision"
    event = decision_event(run)
    assert (event["decision"], event["mode"], event["timed_out"]) == ("rollback", "manual", False)
    assert (event["approved_by"], event["approved_via"]) == ("alice", "approve")
    [approval] = run.outcome.approvals
    assert (approval.by, approval.via) == ("alice", "approve")
    assert event["approved_at"] == approval.at and approval.at != ""
    assert event["approvals"] == [approval.as_json()]
    assert run.outcome.rolled_back and target.ran("undo")
    assert_decided_within_the_run(run)
    assert run.exit_code == 0


def test_a_second_signal_while_the_decision_is_awaited_skips_the_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signals = Signals()
    sent: list[int] = []

    def sleep(seconds: float) -> None:
        # The wait for approvals polls between sleeps: both signals land within one wait.
        if not sent:
            sent.append(1)
            signals.send(signal.SIGINT)
            signals.send(signal.SIGINT)
        time.sleep(seconds)

    monkeypatch.setattr(
        runner.engine.monitor, "time", types.SimpleNamespace(monotonic=time.monotonic, sleep=sleep)
    )
    manual = "{manual: true, timeout: 30s, on_timeout: abort}"
    target = FakeTarget()
    run = run_drill(playbook(deploy="fail change", decision=manual), tmp_path, target, signals)
    assert sent == [1]
    assert run.skipped()["rollback"] == "interrupted twice: rollback skipped"
    assert not target.ran("undo") and not run.outcome.rolled_back
    event = decision_event(run)
    assert (event["decision"], event["approved_by"]) == ("rollback", "interrupt (SIGINT)")
    assert event["timed_out"] is False
    assert run.exit_code == 130
