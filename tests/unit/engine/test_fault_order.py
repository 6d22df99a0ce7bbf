"""Faults are reverted newest first, before the rollback and before cleanup; a revert that
does not hold fails the run and says what to run by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

import runner.faults.revert
from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import InProcessRun, run_drill


def fault(name: str, revert: str | None = None, check: str | None = None) -> str:
    revert = revert or f"fault-off {name}"
    check = check or f"fault-check {name}"
    return (
        f"  - name: {name}\n"
        f"    fault: {{kind: custom, name: {name}, inject: 'fault-on {name}', "
        f"revert: '{revert}', check: '{check}'}}\n"
    )


def faulted_playbook(
    rollback_when: str = "always",
    revert: str | None = None,
    check: str | None = None,
    last: str = "ok end-of-inject",
) -> str:
    """A fault in deploy (d) and two in inject (a, then b), then the usual phases.

    `revert` and `check` replace fault a's; `last` is the inject phase's last step."""
    return (
        f"drill: fault order\nrollback_type: 2\nrollback_when: {rollback_when}\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        + fault("d")
        + "inject:\n"
        + fault("a", revert, check)
        + fault("b")
        + "  - {name: end of inject, shell: "
        + last
        + "}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
        "cleanup:\n  - {name: tidy, shell: ok tidy}\n"
    )


def drill(tmp_path: Path, text: str) -> tuple[InProcessRun, FakeTarget]:
    target = FakeTarget()
    return run_drill(text, tmp_path, target), target


def reverts(target: FakeTarget) -> list[str]:
    return [name for _, word, name in target.snapshot() if word == "fault-off"]


def position(target: FakeTarget, entry: str) -> int:
    log = target.names()
    assert entry in log, log
    return log.index(entry)


@pytest.mark.parametrize("when", ["always", "failure"])
def test_faults_are_reverted_newest_first_before_the_next_phase(tmp_path: Path, when: str) -> None:
    run, target = drill(tmp_path, faulted_playbook(when))
    assert reverts(target) == ["b", "a", "d"]
    after_change = "ok undo" if when == "always" else "ok check"
    assert position(target, "fault-off d") < position(target, after_change)
    assert target.faults_on == set()
    assert run.exit_code == 0
    reasons = [e["reason"] for e in run.events() if e["event"] == "fault_revert_started"]
    assert reasons == ["inject phase over"] * 3


def test_a_failed_inject_step_reverts_the_faults_before_the_rollback_runs(
    tmp_path: Path,
) -> None:
    run, target = drill(tmp_path, faulted_playbook(last="fail end-of-inject"))
    assert reverts(target) == ["b", "a", "d"]
    assert position(target, "fault-off d") < position(target, "ok undo")
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.phase == "inject"


def test_a_fault_injected_during_the_rollback_is_reverted_before_cleanup(
    tmp_path: Path,
) -> None:
    text = faulted_playbook().replace(
        "rollback:\n  - {name: undo, shell: ok undo}\n",
        "rollback:\n  - {name: undo, shell: ok undo}\n" + fault("r"),
    )
    run, target = drill(tmp_path, text)
    assert reverts(target) == ["b", "a", "d", "r"]
    assert position(target, "fault-off r") < position(target, "ok tidy")
    assert target.faults_on == set()
    assert run.exit_code == 0


@pytest.mark.parametrize(
    ("revert", "check", "why"),
    [
        # The check still sees the fault after every attempt.
        pytest.param("fault-off a", "ok still-there", "still in effect", id="check-fails"),
        # The revert command itself fails.
        pytest.param("fail revert-a", "fault-check a", "rc 1", id="revert-fails"),
    ],
)
def test_a_fault_revert_that_does_not_hold_fails_the_run_and_gives_the_manual_command(
    tmp_path: Path, no_revert_pauses: list[float], revert: str, check: str, why: str
) -> None:
    run, target = drill(tmp_path, faulted_playbook(revert=revert, check=check))
    assert (run.exit_code, run.outcome.status) == (1, "failed")
    assert run.outcome.reason.startswith("fault not reverted: ")
    assert "manual" in run.outcome.reason
    failed = [e for e in run.events() if e["event"] == "fault_revert_failed"]
    assert len(failed) == 1 and failed[0]["manual"] == revert and why in failed[0]["detail"]
    notices = [n for n in run.view.notices if n.startswith("FAULT NOT REVERTED")]
    assert len(notices) == 1 and f"Run by hand: {revert}" in notices[0]
    # It tried REVERT_ATTEMPTS times, pausing between attempts (none after the last).
    assert len(no_revert_pauses) == runner.faults.revert.REVERT_ATTEMPTS - 1
    # The other faults were still reverted, and the rollback and cleanup still ran.
    assert {"b", "d"} <= set(reverts(target))
    assert target.ran("undo") and target.ran("tidy")
    records = {r.plan.summary: r.revert_failed for r in run.outcome.faults}
    assert sum(records.values()) == 1


def test_a_fault_revert_that_holds_on_a_later_attempt_does_not_fail_the_run(
    tmp_path: Path, no_revert_pauses: list[float]
) -> None:
    target = FakeTarget()
    checks: list[Call] = []

    def still_there_after_the_first_revert(call: Call) -> None:
        # Check 1 follows the inject, check 2 the first revert, check 3 the second.
        checks.append(call)
        if len(checks) == 2:
            target.faults_on.add("stuck")
        else:
            target.faults_on.discard("stuck")

    target.on("stuck", still_there_after_the_first_revert)
    run = run_drill(faulted_playbook(check="fault-check stuck"), tmp_path, target)
    assert len(checks) == 3
    assert len(no_revert_pauses) == 1  # one pause between the two attempts
    assert run.exit_code == 0, run.outcome.reason
    assert not any(r.revert_failed for r in run.outcome.faults)
