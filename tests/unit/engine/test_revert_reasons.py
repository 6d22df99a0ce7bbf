"""Why each fault was reverted, as the journal says it: the moment of the drill that reverted
it (the inject phase over, an interrupt, the start of cleanup, the end of the run, a second
signal during the rollback). `drillctl recover` and a reader of the journal go by it.

Each drill runs in this process against a fake target (tests/fakes); faults are the fake's
markers, set and cleared by `fault-on` and `fault-off`.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import InProcessRun, Signals, run_drill

PHASES = ("prepare", "deploy", "inject", "rollback", "verify", "cleanup")


def fault(name: str) -> str:
    return (
        f"  - name: {name}\n"
        f"    fault: {{kind: custom, name: {name}, inject: 'fault-on {name}', "
        f"revert: 'fault-off {name}', check: 'fault-check {name}'}}\n"
    )


def playbook(faulted: tuple[str, ...]) -> str:
    """Each phase: a fault `<phase>-fault` if the phase is in `faulted`, then `<phase>-2`."""
    text = "drill: revert reasons\nrollback_type: 2\n"
    for phase in PHASES:
        text += f"{phase}:\n"
        if phase in faulted:
            text += fault(f"{phase}-fault")
        text += f"  - name: {phase}-2\n    shell: ok {phase}-2\n"
    return text


def revert_started(run: InProcessRun) -> list[str]:
    return [e["reason"] for e in run.events() if e["event"] == "fault_revert_started"]


def drill(
    tmp_path: Path, faulted: tuple[str, ...], signal_in: str = "", count: int = 1
) -> tuple[InProcessRun, FakeTarget]:
    target = FakeTarget()
    signals = Signals()
    if signal_in:

        def deliver(call: Call) -> None:
            for _ in range(count):
                signals.send(signal.SIGINT)

        target.on(f"{signal_in}-2", deliver)
    run = run_drill(playbook(faulted), tmp_path, target, signals)
    assert target.faults_on == set()
    return run, target


def test_a_fault_of_the_verify_phase_is_reverted_as_cleanup_starts(tmp_path: Path) -> None:
    run, target = drill(tmp_path, ("verify",))
    assert revert_started(run) == ["cleanup"]
    log = target.names()
    assert log.index("fault-off verify-fault") < log.index("ok cleanup-2")
    assert run.exit_code == 0


def test_a_fault_of_the_cleanup_phase_is_reverted_at_the_end_of_the_run(tmp_path: Path) -> None:
    run, target = drill(tmp_path, ("cleanup",))
    assert revert_started(run) == ["end of run"]
    log = target.names()
    assert log.index("ok cleanup-2") < log.index("fault-off cleanup-fault")
    assert run.exit_code == 0


@pytest.mark.parametrize("phase", ["deploy", "inject"])
def test_faults_of_an_interrupted_change_are_reverted_as_interrupted(
    tmp_path: Path, phase: str
) -> None:
    run, _ = drill(tmp_path, ("deploy", "inject"), signal_in=phase)
    expected = ["interrupted"] * (2 if phase == "inject" else 1)
    assert revert_started(run) == expected
    # What the interrupt skipped, and why: the rest of the change, and verify.
    skipped = {"verify": "interrupted"} | ({"inject": "interrupted"} if phase == "deploy" else {})
    assert run.skipped() == skipped
    assert run.exit_code == 130


def test_a_fault_of_an_interrupted_verify_is_reverted_as_interrupted(tmp_path: Path) -> None:
    run, target = drill(tmp_path, ("verify",), signal_in="verify")
    assert revert_started(run) == ["interrupted"]
    log = target.names()
    assert log.index("fault-off verify-fault") < log.index("ok cleanup-2")
    assert run.exit_code == 130


def test_a_second_signal_in_the_rollback_reverts_its_faults_at_once(tmp_path: Path) -> None:
    run, target = drill(tmp_path, ("rollback",), signal_in="rollback", count=2)
    assert revert_started(run) == ["interrupted twice"]
    assert run.exit_code == 130
    assert not target.ran("verify-2")


def test_a_signal_while_faults_are_reverted_before_cleanup_counts_as_in_cleanup(
    tmp_path: Path,
) -> None:
    target = FakeTarget()
    signals = Signals()

    def interrupt_the_revert(call: Call) -> None:
        if call.word == "fault-off":
            signals.send(signal.SIGINT)

    target.on("verify-fault", interrupt_the_revert)
    run = run_drill(playbook(("verify",)), tmp_path, target, signals)
    received = [
        (e["signal"], e["phase"], e["count"])
        for e in run.events()
        if e["event"] == "interrupt_received"
    ]
    assert received == [("SIGINT", "cleanup", 1)]
    [said] = [n for n in run.view.notices if n.startswith("SIGINT")]
    assert said.startswith("SIGINT: cleanup is running and will finish")
    assert revert_started(run) == ["cleanup"]
    assert target.ran("cleanup-2") and target.faults_on == set()
    assert run.exit_code == 130
