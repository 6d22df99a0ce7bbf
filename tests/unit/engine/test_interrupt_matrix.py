"""The interrupt matrix (README "Interrupts"), every phase by {1, 2} by {SIGINT, SIGTERM}.

Each drill runs in this process against a fake target; the step `<phase>-2` sends the
signals from inside itself, as an operator's Ctrl-C lands mid-step. Step `<phase>-3` shows
whether the rest of that phase ran; a fault injected in the phase shows that faults are
reverted before the rollback and before cleanup.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import InProcessRun, Signals, run_drill

PHASES = ("prepare", "deploy", "inject", "rollback", "verify", "cleanup")
# Phases that get a fault of their own just before the step that is interrupted.
FAULTED = ("prepare", "deploy", "inject", "rollback", "verify")


def fault_step(name: str) -> str:
    return (
        f"  - name: {name}\n"
        f"    fault: {{kind: custom, name: {name}, inject: 'fault-on {name}', "
        f"revert: 'fault-off {name}', check: 'fault-check {name}'}}\n"
    )


def matrix_playbook(rollback_when: str = "always") -> str:
    text = f"drill: interrupt matrix\nrollback_type: 2\nrollback_when: {rollback_when}\n"
    for phase in PHASES:
        text += f"{phase}:\n  - name: {phase}-1\n    shell: ok {phase}-1\n"
        if phase in FAULTED:
            text += fault_step(f"{phase}-fault")
        for n in (2, 3):
            text += f"  - name: {phase}-{n}\n    shell: ok {phase}-{n}\n"
    return text


def interrupt_at(
    tmp_path: Path, phase: str, sig: int, count: int, rollback_when: str = "always"
) -> tuple[InProcessRun, FakeTarget]:
    target = FakeTarget()
    signals = Signals()

    def deliver(call: Call) -> None:
        for _ in range(count):
            signals.send(sig)

    target.on(f"{phase}-2", deliver)
    run = run_drill(matrix_playbook(rollback_when), tmp_path, target, signals)
    # Each signal is evidence: which one, in which phase, the how-many-th.
    received = [
        (e["signal"], e["phase"], e["count"])
        for e in run.events()
        if e["event"] == "interrupt_received"
    ]
    name = signal.Signals(sig).name
    assert received == [(name, phase, n) for n in range(1, count + 1)]
    return run, target


def first(log: list[str], entry: str) -> int:
    assert entry in log, f"{entry!r} did not run: {log}"
    return log.index(entry)


def assert_ran(target: FakeTarget, *names: str) -> None:
    for name in names:
        assert target.ran(name), f"{name} should have run: {target.names()}"


def assert_not_ran(target: FakeTarget, *names: str) -> None:
    for name in names:
        assert not target.ran(name), f"{name} should not have run: {target.names()}"


def assert_common_end(run: InProcessRun, target: FakeTarget, sig: int) -> None:
    """What every cell of the matrix ends with."""
    log = target.names()
    assert run.exit_code == 130
    assert run.outcome.status == "interrupted"
    assert run.result()["status"] == "interrupted"
    last = run.events()[-1]
    assert last["event"] == "interrupted"
    assert last["signal"] == signal.Signals(sig).name
    # Cleanup always finishes, and no fault is left.
    assert_ran(target, "cleanup-1", "cleanup-2", "cleanup-3")
    assert target.faults_on == set()
    cleanup_starts = first(log, "ok cleanup-1")
    for entry in log:
        if entry.startswith("fault-on "):
            name = entry.split(" ", 1)[1]
            assert first(log, f"fault-off {name}") < cleanup_starts, log


SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]
COUNTS = [pytest.param(1, id="once"), pytest.param(2, id="twice")]


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_during_prepare_stops_it_changes_nothing_and_cleans_up(
    tmp_path: Path, sig: int, count: int
) -> None:
    run, target = interrupt_at(tmp_path, "prepare", sig, count)
    assert_common_end(run, target, sig)
    assert "cancelled prepare-2" in target.names()
    assert_not_ran(target, "prepare-2", "prepare-3", "deploy-1", "inject-1", "rollback-1")
    assert_not_ran(target, "verify-1")
    assert run.phases_started() == ["prepare", "cleanup"]
    assert run.skipped()["rollback"] == "interrupted"


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("sig", SIGNALS)
@pytest.mark.parametrize("phase", ["deploy", "inject"])
def test_signal_during_the_change_stops_it_reverts_faults_then_rolls_back_unless_twice(
    tmp_path: Path, phase: str, sig: int, count: int
) -> None:
    run, target = interrupt_at(tmp_path, phase, sig, count)
    assert_common_end(run, target, sig)
    log = target.names()
    assert f"cancelled {phase}-2" in log
    assert_not_ran(target, f"{phase}-2", f"{phase}-3", "verify-1")
    if phase == "deploy":
        assert_not_ran(target, "inject-1")
    # The fault injected in this phase is reverted before anything else runs.
    reverted = first(log, f"fault-off {phase}-fault")
    assert reverted < first(log, "ok cleanup-1")
    if count == 1:
        assert_ran(target, "rollback-1", "rollback-2", "rollback-3")
        assert reverted < first(log, "ok rollback-1")
        change = ["deploy", "inject"] if phase == "inject" else ["deploy"]
        assert run.phases_started() == ["prepare", *change, "rollback", "cleanup"]
        assert run.outcome.rolled_back and run.outcome.rollback_succeeded
    else:
        assert_not_ran(target, "rollback-1")
        assert run.skipped()["rollback"] == "interrupted twice: rollback skipped"
        assert not run.outcome.rolled_back


@pytest.mark.parametrize("sig", SIGNALS)
def test_one_signal_during_rollback_lets_the_rollback_finish_and_says_so(
    tmp_path: Path, sig: int
) -> None:
    run, target = interrupt_at(tmp_path, "rollback", sig, 1)
    assert_common_end(run, target, sig)
    log = target.names()
    assert_ran(target, "rollback-2", "rollback-3")
    assert first(log, "ok rollback-3") < first(log, "fault-off rollback-fault")
    assert_not_ran(target, "verify-1")
    assert run.outcome.rollback_succeeded is True
    said = [n for n in run.view.notices if n.startswith(signal.Signals(sig).name)]
    assert len(said) == 1, run.view.notices
    assert "the rollback will finish" in said[0]
    assert "second" in said[0] and "aborts the rollback" in said[0]
    assert run.skipped()["verify"] == "interrupted"


@pytest.mark.parametrize("sig", SIGNALS)
def test_two_signals_during_rollback_abort_it_after_reverting_faults(
    tmp_path: Path, sig: int
) -> None:
    run, target = interrupt_at(tmp_path, "rollback", sig, 2)
    assert_common_end(run, target, sig)
    log = target.names()
    assert "cancelled rollback-2" in log
    assert_not_ran(target, "rollback-2", "rollback-3", "verify-1")
    assert first(log, "fault-off rollback-fault") < first(log, "ok cleanup-1")
    assert run.outcome.rollback_succeeded is False
    assert any("skipping the rest of rollback" in n for n in run.view.notices)


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_during_verify_stops_it_after_the_rollback_already_ran(
    tmp_path: Path, sig: int, count: int
) -> None:
    run, target = interrupt_at(tmp_path, "verify", sig, count)
    assert_common_end(run, target, sig)
    log = target.names()
    assert_ran(target, "rollback-1", "rollback-2", "rollback-3")
    assert "cancelled verify-2" in log
    assert_not_ran(target, "verify-2", "verify-3")
    assert first(log, "fault-off verify-fault") < first(log, "ok cleanup-1")
    assert run.phases_started() == [
        "prepare",
        "deploy",
        "inject",
        "rollback",
        "verify",
        "cleanup",
    ]


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("sig", SIGNALS)
def test_signal_during_cleanup_lets_cleanup_finish_and_exits_130(
    tmp_path: Path, sig: int, count: int
) -> None:
    run, target = interrupt_at(tmp_path, "cleanup", sig, count)
    assert_common_end(run, target, sig)
    assert "cancelled cleanup-2" not in target.names()
    assert_ran(target, "rollback-3", "verify-3")
    said = [n for n in run.view.notices if n.startswith(signal.Signals(sig).name)]
    assert len(said) == count
    assert all("cleanup is running and will finish" in n for n in said)


# -- beyond the 24 cells: where the same rules meet other settings ---------------------------


@pytest.mark.parametrize("count", COUNTS)
def test_signal_during_verify_before_a_rollback_when_failure_rollback_rolls_back_once(
    tmp_path: Path, count: int
) -> None:
    run, target = interrupt_at(tmp_path, "verify", signal.SIGINT, count, "failure")
    assert_common_end(run, target, signal.SIGINT)
    log = target.names()
    assert "cancelled verify-2" in log
    if count == 1:
        assert_ran(target, "rollback-1", "rollback-2", "rollback-3")
        assert first(log, "fault-off verify-fault") < first(log, "ok rollback-1")
    else:
        assert_not_ran(target, "rollback-1")
        assert run.skipped()["rollback"] == "interrupted twice: rollback skipped"


def test_first_signal_in_the_change_and_second_in_the_rollback_aborts_the_rollback(
    tmp_path: Path,
) -> None:
    target = FakeTarget()
    signals = Signals()
    target.on("deploy-2", lambda call: signals.send(signal.SIGINT))
    target.on("rollback-2", lambda call: signals.send(signal.SIGTERM))
    run = run_drill(matrix_playbook(), tmp_path, target, signals)
    assert run.exit_code == 130
    log = target.names()
    assert_ran(target, "rollback-1")
    assert "cancelled rollback-2" in log
    assert_not_ran(target, "rollback-3")
    assert_ran(target, "cleanup-3")
    assert target.faults_on == set()
    assert run.events()[-1]["signal"] == "SIGINT"  # the first signal names the interrupt


def test_a_drill_without_signals_runs_every_step_and_passes(tmp_path: Path) -> None:
    """The other side of every cell: the same playbook, uninterrupted, passes."""
    target = FakeTarget()
    run = run_drill(matrix_playbook(), tmp_path, target)
    assert run.exit_code == 0, run.outcome.reason
    for phase in PHASES:
        assert_ran(target, f"{phase}-1", f"{phase}-2", f"{phase}-3")
    assert run.events()[-1]["event"] == "run_finished"
    assert target.faults_on == set()


def test_a_signal_while_probes_settle_after_verify_goes_straight_to_cleanup(
    tmp_path: Path,
) -> None:
    """Probing goes on after verify to confirm a lasting recovery (10 s here); a signal
    then must not wait for it."""
    target = FakeTarget()
    signals = Signals()

    def signal_soon(call: Call) -> None:
        threading.Timer(0.3, signals.send, (signal.SIGTERM,)).start()

    target.on("verify-3", signal_soon)
    probes = "probes:\n  health: {command: ok health, every: 1s, healthy_after: 20}\n"
    started = time.monotonic()
    run = run_drill(matrix_playbook() + probes, tmp_path, target, signals)
    assert time.monotonic() - started < 5
    assert run.exit_code == 130
    assert_ran(target, "verify-3", "cleanup-3")
    assert [e["phase"] for e in run.events() if e["event"] == "interrupt_received"] == ["verify"]


def test_a_signal_while_a_rollback_waits_for_approval_rolls_back_at_once(tmp_path: Path) -> None:
    """Ctrl-C ends the wait for a manual decision as the matrix says: the change is
    rolled back, even where a timeout would have meant no rollback (on_timeout: abort)."""
    target = FakeTarget()
    signals = Signals()
    target.on(
        "deploy-2",
        lambda call: threading.Timer(0.3, signals.send, (signal.SIGINT,)).start(),
    )
    playbook = matrix_playbook().replace("shell: ok deploy-2", "shell: fail deploy-2")
    playbook += "decision: {manual: true, timeout: 30s, on_timeout: abort}\n"
    started = time.monotonic()
    run = run_drill(playbook, tmp_path, target, signals)
    assert time.monotonic() - started < 10
    assert run.exit_code == 130
    assert_ran(target, "rollback-1", "rollback-3", "cleanup-3")
    decision = next(e for e in run.events() if e["event"] == "decision")
    assert decision["decision"] == "rollback"
    assert decision["timed_out"] is False
    assert decision["approved_by"] == "interrupt (SIGINT)"
