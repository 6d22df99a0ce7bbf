"""Outcomes and exit codes, in process: 0 passed, 1 failed, 2 bad input, 3 environment
error, 130 interrupted; and the over-budget verdict at its boundary.

`drillctl run` itself (`runner.cli.main`) runs here, with the fake target's connections in
place of real ones, so the exit code is the one a user's shell would see.
"""

from __future__ import annotations

import os
import signal
import types
from pathlib import Path

import pytest

import runner.connections.pool
import runner.engine.drill
import runner.engine.phases
from runner.cli import main
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import FakeClock, run_drill, write_inventory


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> FakeTarget:
    """The fake target behind every connection `drillctl run` opens in this test."""
    fake = FakeTarget()
    monkeypatch.setattr(runner.connections.pool, "default_factories", fake.factories)
    return fake


def drillctl_run(tmp_path: Path, text: str, *args: str) -> int:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(text)
    return main(["run", str(playbook), "--out", str(tmp_path / "run"), *args])


def simple(deploy: str = "ok change", rollback: str = "ok undo") -> str:
    return (
        "drill: outcomes\nrollback_type: 2\n"
        f"deploy:\n  - {{name: change, shell: {deploy}}}\n"
        f"rollback:\n  - {{name: undo, shell: {rollback}}}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
        "cleanup:\n  - {name: tidy, shell: ok tidy}\n"
    )


def test_a_passed_drill_exits_0(tmp_path: Path, target: FakeTarget) -> None:
    assert drillctl_run(tmp_path, simple()) == 0
    assert target.ran("undo") and target.ran("check")


def test_a_failed_drill_exits_1(tmp_path: Path, target: FakeTarget) -> None:
    assert drillctl_run(tmp_path, simple(rollback="fail undo")) == 1
    assert target.ran("tidy")


def test_bad_input_exits_2_and_runs_nothing(
    tmp_path: Path, target: FakeTarget, capsys: pytest.CaptureFixture[str]
) -> None:
    text = simple().replace("shell: ok check", "shell: ok check, retires: 3")
    assert drillctl_run(tmp_path, text) == 2
    assert target.snapshot() == []
    assert not (tmp_path / "run").exists()
    err = capsys.readouterr().err
    assert f"{tmp_path / 'drill.yml'}:" in err and "retires" in err


def test_an_interrupted_drill_exits_130(tmp_path: Path, target: FakeTarget) -> None:
    target.on("change", lambda call: os.kill(os.getpid(), signal.SIGINT))
    assert drillctl_run(tmp_path, simple(deploy="hang change")) == 130
    assert target.ran("undo") and target.ran("tidy")  # the change began: rolled back


def test_unreachable_targets_are_an_environment_error_exit_3(
    tmp_path: Path, target: FakeTarget
) -> None:
    inventory = write_inventory(tmp_path, {"h1": {}, "h2": {}})
    target.unreachable = {"h1", "h2"}
    assert drillctl_run(tmp_path, simple(), "-i", inventory) == 3
    assert target.snapshot() == []


def test_one_unreachable_host_beside_a_real_failure_is_a_failed_drill_exit_1(
    tmp_path: Path, target: FakeTarget
) -> None:
    inventory = write_inventory(tmp_path, {"h1": {}, "h2": {}})
    target.unreachable = {"h1"}
    assert drillctl_run(tmp_path, simple(rollback="fail undo"), "-i", inventory) == 1


def test_a_connection_kind_this_drillctl_cannot_open_exits_3_before_any_step(
    tmp_path: Path, target: FakeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        runner.connections.pool, "default_factories", lambda: {"local": target.connection}
    )
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    far: {connection: ssh, address: 127.0.0.1}\n")
    assert drillctl_run(tmp_path, simple(), "-i", str(inventory)) == 3
    assert target.snapshot() == []


def test_a_run_directory_that_cannot_be_created_exits_3_before_any_step(
    tmp_path: Path, target: FakeTarget
) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(simple())
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["run", str(playbook), "--out", str(blocker / "run")]) == 3
    assert target.snapshot() == []


def test_a_fault_the_target_cannot_carry_is_an_environment_error_exit_3(
    tmp_path: Path, target: FakeTarget
) -> None:
    # The fake target knows none of cp, mv, cmp…: the fault's precheck answers 127.
    corrupt = "{name: corrupt, fault: {kind: file.corrupt, path: /x, mode: truncate}}"
    text = simple().replace("rollback:", f"inject:\n  - {corrupt}\nrollback:")
    assert drillctl_run(tmp_path, text) == 3
    result = (tmp_path / "run" / "result.json").read_text()
    assert "file.corrupt needs cp, mv" in result
    assert target.ran("undo")  # the change began, so it was still rolled back


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The drill's monotonic clock, moved only by the test."""
    fake = FakeClock()
    for module in (runner.engine.drill, runner.engine.phases):
        monkeypatch.setattr(module, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    return fake


@pytest.mark.parametrize(
    ("took", "status"),
    [
        pytest.param(60.0, "passed", id="exactly-the-budget"),
        pytest.param(60.0 + 2**-6, "failed", id="just-over"),
        pytest.param(60.0 - 2**-6, "passed", id="just-under"),
    ],
)
def test_a_rollback_over_its_types_budget_fails_the_drill(
    tmp_path: Path, clock: FakeClock, took: float, status: str
) -> None:
    target = FakeTarget()
    target.on("undo", lambda call: clock.advance(took))
    run = run_drill(simple().replace("rollback_type: 2", "rollback_type: 1"), tmp_path, target)
    rollback = run.outcome.phase("rollback")
    assert rollback is not None and rollback.duration_s == took
    assert run.outcome.status == status
    if status == "failed":
        assert run.exit_code == 1
        assert run.outcome.reason == (f"rollback took {took:.1f}s, over the type 1 budget of 60s")
    else:
        assert run.exit_code == 0


def test_a_rollback_with_no_step_that_ran_rolled_nothing_back(
    tmp_path: Path, target: FakeTarget
) -> None:
    empty = (
        "drill: outcomes\nrollback_type: 2\nrollback_when: failure\n"
        "deploy:\n  - {name: change, shell: fail change}\n"
    )
    for name in ("empty", "skipped", "ran"):
        (tmp_path / name).mkdir()
    run = run_drill(empty, tmp_path / "empty", target)
    assert (run.outcome.status, run.outcome.exit_code) == ("failed", 1)
    assert "no rollback step ran" in run.outcome.reason
    # Every rollback step skipped by `when` is no rollback either.
    skipped = empty + "rollback:\n  - {name: undo, shell: ok undo, when: false}\n"
    run = run_drill(skipped, tmp_path / "skipped", target)
    assert "no rollback step ran" in run.outcome.reason
    # One rollback step that ran is a rollback, whatever else the drill says.
    ran = empty + "rollback:\n  - {name: undo, shell: ok undo}\n"
    run = run_drill(ran, tmp_path / "ran", target)
    assert "no rollback step ran" not in run.outcome.reason and target.ran("undo")
