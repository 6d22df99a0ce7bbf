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
from runner.engine.results import PhaseResult
from runner.engine.verdict import unverified_rollback_verdict
from runner.measure.figures import DrillFigures, measure_drill
from runner.measure.probes import ProbeLog
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline
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


UNVERIFIED = "rolled back, but nothing verified it: no verify step ran"
SEEN_HEALTHY = "no verify step ran, and the availability probes saw the service healthy afterwards"


def rehearsal(verify: str = "", probes: str = "") -> str:
    """A drill that always rolls back; `verify` and `probes` are YAML blocks, or nothing."""
    return (
        "drill: outcomes\nrollback_type: 2\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n" + verify + probes
    )


def test_a_rollback_no_verify_step_checked_fails_the_drill(
    tmp_path: Path, target: FakeTarget
) -> None:
    run = run_drill(rehearsal(), tmp_path, target)
    assert target.ran("undo")
    assert (run.outcome.status, run.exit_code) == ("failed", 1)
    assert run.outcome.reason == (
        f"{UNVERIFIED}, and no availability probe saw the service healthy afterwards"
    )
    assert run.result()["status"] == "failed"


def test_a_verify_phase_whose_every_step_when_skipped_is_no_verify(
    tmp_path: Path, target: FakeTarget
) -> None:
    verify = "verify:\n  - {name: check, shell: ok check, when: false}\n"
    run = run_drill(rehearsal(verify), tmp_path, target)
    assert not target.ran("check")
    assert (run.outcome.status, run.exit_code) == ("failed", 1)
    assert run.outcome.reason.startswith(UNVERIFIED)


def test_a_rollback_a_verify_step_checked_passes_and_says_so(
    tmp_path: Path, target: FakeTarget
) -> None:
    verify = "verify:\n  - {name: check, shell: ok check}\n"
    run = run_drill(rehearsal(verify), tmp_path, target)
    assert target.ran("check")
    assert (run.outcome.status, run.exit_code) == ("passed", 0)
    assert run.outcome.reason.endswith("s and verified")


def test_no_verify_step_but_every_probe_saw_the_service_healthy_after_it_passes(
    tmp_path: Path, target: FakeTarget
) -> None:
    # healthy_after sets how long probing goes on after the rollback (here 0.55 s).
    probes = "probes:\n  health: {command: ok health, every: 50ms, healthy_after: 10}\n"
    run = run_drill(rehearsal(probes=probes), tmp_path, target)
    assert (run.outcome.status, run.exit_code) == ("passed", 0)
    assert run.outcome.reason.startswith("rolled back in ")
    assert run.outcome.reason.endswith(f"s; {SEEN_HEALTHY}")
    assert "and verified" not in run.outcome.reason


def test_no_verify_step_and_a_probe_that_saw_an_outage_with_no_recovery_fails(
    tmp_path: Path, target: FakeTarget
) -> None:
    probes = "probes:\n  health: {command: fail health, every: 50ms, healthy_after: 2}\n"
    run = run_drill(rehearsal(probes=probes), tmp_path, target)
    assert (run.outcome.status, run.exit_code) == ("failed", 1)
    assert SEEN_HEALTHY not in run.outcome.reason


def test_no_verify_step_and_one_of_two_probes_still_down_fails_naming_it(
    tmp_path: Path, target: FakeTarget
) -> None:
    # The healthy instance must not vouch for the one that is still down.
    probes = (
        "probes:\n  up: {command: ok up, every: 50ms, healthy_after: 2}\n"
        "  down: {command: fail down, every: 50ms, healthy_after: 2}\n"
    )
    run = run_drill(rehearsal(probes=probes), tmp_path, target)
    assert (run.outcome.status, run.exit_code) == ("failed", 1)
    assert SEEN_HEALTHY not in run.outcome.reason and "down@" in run.outcome.reason


def probe_figures(samples: list[tuple[float, bool]], rollback_ended: float) -> DrillFigures:
    """One availability instance's figures from (t, healthy) samples; the change began at 0."""
    log = ProbeLog(availability=[AvailabilitySample("health", t, ok, 0.01) for t, ok in samples])
    times = Timeline(deploy_started=0.0, rollback_started=1.0, rollback_ended=rollback_ended)
    return measure_drill(log, times, {"health": 2})


ROLLBACK = PhaseResult("rollback", (), "", started_mono=1.0, duration_s=1.0)  # ends at t=2


@pytest.mark.parametrize(
    ("samples", "status"),
    [
        pytest.param([(0.5, True), (1.5, True), (2.0, True)], "passed", id="healthy-at-its-end"),
        pytest.param([(0.5, True), (1.5, True), (1.99, True)], "failed", id="just-before-its-end"),
        pytest.param([(0.5, True), (1.5, True)], "failed", id="no-sample-after-it"),
        pytest.param([(0.5, False), (2.5, True), (3.0, True)], "passed", id="recovered-after"),
        pytest.param([(0.5, False), (2.5, False), (3.0, True)], "failed", id="streak-too-short"),
        pytest.param([(0.5, True), (2.5, False)], "failed", id="down-after-it"),
        pytest.param([], "failed", id="no-sample-at-all"),
    ],
)
def test_probes_vouch_for_an_unchecked_rollback_only_with_a_healthy_sample_after_it(
    samples: list[tuple[float, bool]], status: str
) -> None:
    got, reason = unverified_rollback_verdict(ROLLBACK, probe_figures(samples, 2.0))
    assert got == status
    if status == "passed":
        assert reason == f"rolled back in 1.00s; {SEEN_HEALTHY}"
    else:
        assert reason.startswith(UNVERIFIED) and SEEN_HEALTHY not in reason


def test_a_drill_that_needed_no_rollback_claims_verification_only_when_a_verify_step_ran(
    tmp_path: Path, target: FakeTarget
) -> None:
    base = (
        "drill: outcomes\nrollback_type: 2\nrollback_when: failure\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
    )
    for name in ("bare", "checked"):
        (tmp_path / name).mkdir()
    bare = run_drill(base, tmp_path / "bare", target)
    assert bare.outcome.reason == "no rollback was needed; no verify step ran"
    checked = run_drill(
        base + "verify:\n  - {name: check, shell: ok check}\n", tmp_path / "checked", target
    )
    assert checked.outcome.reason == "verified; no rollback was needed"


@pytest.mark.parametrize("completed", [True, False])
@pytest.mark.parametrize("failed_on_a_host", [True, False])
@pytest.mark.parametrize("did_something", [True, False])
@pytest.mark.parametrize("left_a_fault", [True, False])
def test_a_rollback_succeeds_only_when_every_condition_of_the_one_rule_holds(
    completed: bool, failed_on_a_host: bool, did_something: bool, left_a_fault: bool
) -> None:
    from runner.engine.outcome import rollback_proven

    proven = rollback_proven(
        completed=completed,
        failed_on_a_host=failed_on_a_host,
        did_something=did_something,
        left_a_fault=left_a_fault,
    )
    # Of the sixteen cases, one proves the rollback: any single doubt makes it unproven.
    assert proven is (
        (completed, failed_on_a_host, did_something, left_a_fault) == (True, False, True, False)
    )
