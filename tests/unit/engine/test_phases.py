"""Phases in order, `rollback_when`, and what a failure in each phase does (README "Concepts").

Every drill runs in this process against a fake target (tests/fakes): `ok NAME` succeeds,
`fail NAME` exits 1. The log of the target is the order in which steps really ran.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.connection import FakeTarget
from tests.fakes.engine import InProcessRun, run_drill

PHASES = ("prepare", "deploy", "inject", "rollback", "verify", "cleanup")


def playbook(rollback_when: str = "always", fail: str = "", rollback_type: int = 2) -> str:
    """Two steps per phase; the step named in `fail` (e.g. `deploy-1`) exits 1."""
    text = f"drill: phases\nrollback_type: {rollback_type}\nrollback_when: {rollback_when}\n"
    for phase in PHASES:
        text += f"{phase}:\n"
        for n in (1, 2):
            name = f"{phase}-{n}"
            word = "fail" if name == fail else "ok"
            text += f"  - name: {name}\n    shell: {word} {name}\n"
    return text


def drill(tmp_path: Path, text: str) -> tuple[InProcessRun, FakeTarget]:
    target = FakeTarget()
    return run_drill(text, tmp_path, target), target


def steps_run(target: FakeTarget) -> list[str]:
    return [name for _, _, name in target.snapshot()]


def every_step(*phases: str) -> list[str]:
    return [f"{p}-{n}" for p in phases for n in (1, 2)]


def test_rollback_when_always_runs_every_phase_in_order_and_passes(tmp_path: Path) -> None:
    run, target = drill(tmp_path, playbook("always"))
    assert run.phases_started() == list(PHASES)
    assert steps_run(target) == every_step(*PHASES)
    assert (run.exit_code, run.outcome.status) == (0, "passed")
    assert run.outcome.rolled_back and run.outcome.rollback_succeeded is True
    assert run.outcome.trigger is not None and run.outcome.trigger.kind == "rehearsal"
    assert run.result()["status"] == "passed"
    assert run.events()[-1]["event"] == "run_finished"


def test_rollback_when_failure_skips_the_rollback_when_nothing_failed(tmp_path: Path) -> None:
    run, target = drill(tmp_path, playbook("failure"))
    assert run.phases_started() == ["prepare", "deploy", "inject", "verify", "cleanup"]
    assert run.skipped() == {"rollback": "nothing failed (rollback_when: failure)"}
    assert steps_run(target) == every_step("prepare", "deploy", "inject", "verify", "cleanup")
    assert (run.exit_code, run.outcome.status) == (0, "passed")
    assert not run.outcome.rolled_back and run.outcome.trigger is None


@pytest.mark.parametrize("when", ["always", "failure"])
def test_a_failed_prepare_ends_the_drill_with_exit_1_and_cleanup_runs(
    tmp_path: Path, when: str
) -> None:
    run, target = drill(tmp_path, playbook(when, fail="prepare-1"))
    assert run.phases_started() == ["prepare", "cleanup"]
    not_run = ("deploy", "inject", "rollback", "verify")
    assert run.skipped() == {p: "prepare failed" for p in not_run}
    assert steps_run(target) == ["prepare-1", *every_step("cleanup")]
    assert (run.exit_code, run.outcome.status) == (1, "failed")
    assert "baseline (prepare) failed" in run.outcome.reason and "prepare-1" in run.outcome.reason
    assert not run.outcome.rolled_back


@pytest.mark.parametrize("when", ["always", "failure"])
@pytest.mark.parametrize("phase", ["deploy", "inject"])
def test_a_failed_change_step_starts_the_rollback_and_a_good_rollback_passes(
    tmp_path: Path, when: str, phase: str
) -> None:
    run, target = drill(tmp_path, playbook(when, fail=f"{phase}-1"))
    ran = steps_run(target)
    assert f"{phase}-2" not in ran  # the rest of a failed phase does not run
    if phase == "deploy":
        assert run.skipped() == {"inject": "rollback started"}
    assert ran[-6:] == every_step("rollback", "verify", "cleanup")
    trigger = run.outcome.trigger
    assert trigger is not None
    assert (trigger.kind, trigger.phase, trigger.step) == ("step_failed", phase, f"{phase}-1")
    # The drill's objective is the rollback: it was proved, so the drill passes.
    assert (run.exit_code, run.outcome.status) == (0, "passed")
    assert run.outcome.rolled_back and run.outcome.rollback_succeeded is True


@pytest.mark.parametrize("when", ["always", "failure"])
def test_a_failed_rollback_fails_the_drill_and_verify_and_cleanup_still_run(
    tmp_path: Path, when: str
) -> None:
    # With `failure`, a deploy failure is what starts the rollback.
    text = playbook(when, fail="rollback-1")
    if when == "failure":
        text = text.replace("shell: ok deploy-2", "shell: fail deploy-2")
    run, target = drill(tmp_path, text)
    ran = steps_run(target)
    assert "rollback-1" in ran and "rollback-2" not in ran
    assert ran[-4:] == every_step("verify", "cleanup")
    assert (run.exit_code, run.outcome.status) == (1, "failed")
    assert run.outcome.reason.startswith("rollback failed: step 'rollback-1'")
    assert run.outcome.rollback_succeeded is False


def test_a_failed_verify_after_the_rehearsed_rollback_fails_the_drill(tmp_path: Path) -> None:
    run, target = drill(tmp_path, playbook("always", fail="verify-1"))
    assert run.phases_started() == list(PHASES)
    assert "verify-2" not in steps_run(target)
    assert steps_run(target)[-2:] == every_step("cleanup")
    assert (run.exit_code, run.outcome.status) == (1, "failed")
    assert run.outcome.reason.startswith("verify failed: step 'verify-1'")


def healing_playbook(rollback_fixes_it: bool) -> str:
    """deploy breaks the service (clears marker `good`), verify checks it, rollback restores it."""
    restore = "fault-on good" if rollback_fixes_it else "ok nothing"
    return (
        "drill: verify starts the rollback\nrollback_type: 2\nrollback_when: failure\n"
        "prepare:\n  - {name: baseline, shell: fault-on good}\n"
        "deploy:\n  - {name: break it, shell: fault-off good}\n"
        f"rollback:\n  - {{name: restore, shell: {restore}}}\n"
        "verify:\n  - {name: healthy, shell: fault-check good}\n"
        "cleanup:\n  - {name: tidy, shell: ok tidy}\n"
    )


def test_with_rollback_when_failure_a_failed_verify_rolls_back_and_verifies_again(
    tmp_path: Path,
) -> None:
    run, target = drill(tmp_path, healing_playbook(rollback_fixes_it=True))
    order = ["prepare", "deploy", "inject", "verify", "rollback", "verify", "cleanup"]
    assert run.phases_started() == order
    trigger = run.outcome.trigger
    assert trigger is not None and (trigger.kind, trigger.phase) == ("step_failed", "verify")
    assert (run.exit_code, run.outcome.status) == (0, "passed")
    assert run.outcome.rolled_back


def test_with_rollback_when_failure_a_verify_that_fails_again_fails_the_drill(
    tmp_path: Path,
) -> None:
    run, _ = drill(tmp_path, healing_playbook(rollback_fixes_it=False))
    assert run.phases_started().count("verify") == 2
    assert (run.exit_code, run.outcome.status) == (1, "failed")
    assert run.outcome.reason.startswith("verify failed: step 'healthy'")


def test_a_failed_cleanup_step_does_not_stop_the_rest_of_cleanup(tmp_path: Path) -> None:
    run, target = drill(tmp_path, playbook("always", fail="cleanup-1"))
    assert steps_run(target)[-2:] == every_step("cleanup")
    finished = {e["phase"]: e["status"] for e in run.events() if e["event"] == "phase_finished"}
    assert finished["cleanup"] == "failed"  # reported, as the README says
    assert finished["rollback"] == finished["verify"] == "ok"
    # A cleanup failure is reported, not a failed drill: the rollback was proved.
    assert (run.exit_code, run.outcome.status) == (0, "passed")


def test_rollback_type_5_never_rolls_back(tmp_path: Path) -> None:
    target = FakeTarget()
    text = playbook("always", rollback_type=5)
    run = run_drill(text, tmp_path, target, allow_irreversible=True)
    assert "rollback" not in run.phases_started()
    assert run.skipped()["rollback"].startswith("rollback_type 5")
    assert not any(name.startswith("rollback-") for name in steps_run(target))
    assert not run.outcome.rolled_back
