"""`rollback: auto`: the rollback steps the recorded undos become, and when the state a
deploy kept on a host (snapshots, backups) must outlive the run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from runner.actions.base import Undo
from runner.engine.plan import StepPlan
from runner.engine.results import FAILED, OK, SKIPPED, HostResult, PhaseResult, StepResult
from runner.engine.undo import UndoStack, keep_reason
from runner.inventory.model import Host
from runner.journal import Journal, read_events
from runner.playbook.model import Location, Step
from runner.secrets import SecretMask


def host(name: str) -> Host:
    return Host(name, name, "local", None, None, {}, ("all",))


def deploy_step(index: int, name: str) -> Step:
    return Step(
        "deploy",
        index,
        name,
        "shell",
        {"cmd": "x"},
        Location("drill.yml", 10 + index, 5),
        hosts="web",
        when=("ready",),
        register="out",
        retries=3,
        until="out.rc == 0",
        delay_s=2.0,
        timeout_s=9.0,
        tags=("deploy",),
        loop=["a"],
        run_once=True,
    )


H1, H2 = host("h1"), host("h2")
FIRST, SECOND = deploy_step(0, "install v2"), deploy_step(1, "switch config")


def stack() -> UndoStack:
    s = UndoStack()
    s.entries.append((H1, Undo("release", {"to": "v1"}, "back to v1"), FIRST))
    s.entries.append((H2, Undo("config", {"file": "a.conf"}), SECOND))
    s.entries.append((H1, Undo("flag", {"name": "f", "value": 0}, "flag f off"), SECOND))
    return s


def test_undos_become_rollback_steps_newest_first_one_host_each() -> None:
    plans = stack().rollback_plans()
    assert [(p.step.index, p.step.name, p.hosts) for p in plans] == [
        (0, "undo: flag f off", (H1,)),
        (1, "undo: switch config", (H2,)),  # no summary: the deploy step's name
        (2, "undo: back to v1", (H1,)),
    ]
    assert all(p.per_host == () for p in plans)
    assert all(isinstance(p, StepPlan) for p in plans)


def test_a_rollback_step_runs_the_undo_once_unconditionally() -> None:
    step = stack().rollback_plans()[0].step
    assert step.phase == "rollback"
    assert (step.action, step.args) == ("flag", {"name": "f", "value": 0})
    assert step.when == ()
    assert step.loop is None
    assert step.register is None
    assert step.retries == 0
    assert step.until is None
    assert step.run_once is False
    # What the deploy step said about where and how long still holds.
    assert (step.location, step.timeout_s, step.tags) == (SECOND.location, 9.0, ("deploy",))


def test_the_rollback_steps_args_are_a_copy() -> None:
    s = stack()
    step = s.rollback_plans()[0].step
    assert step.args is not s.entries[-1][1].args


def test_nothing_recorded_means_no_rollback_steps() -> None:
    assert UndoStack().rollback_plans() == ()


def phase(*, skipped: str = "", failed: bool = False) -> PhaseResult:
    steps: tuple[StepResult, ...] = ()
    if not skipped:
        status = FAILED if failed else OK
        steps = (StepResult(FIRST, (HostResult("h1", status),), "", 0.0, 0.0),)
    return PhaseResult("rollback", steps, "", 0.0, 0.0, skipped_reason=skipped)


@pytest.mark.parametrize(
    ("wanted", "rollback", "why"),
    [
        (True, None, "the rollback did not run"),
        (False, None, ""),  # the change stands: its state can go
        (
            True,
            phase(skipped="the decision was to keep the change"),
            "the rollback did not run (the decision was to keep the change)",
        ),
        (True, phase(failed=True), "the rollback failed"),
        (True, phase(), ""),
        (False, phase(), ""),
    ],
)
def test_state_stays_until_the_rollback_has_succeeded(
    wanted: bool, rollback: PhaseResult | None, why: str
) -> None:
    assert keep_reason(stack(), "h1", rollback_wanted=wanted, rollback=rollback) == why
    assert keep_reason(stack(), "h2", rollback_wanted=wanted, rollback=rollback) == why


@pytest.mark.parametrize("rollback", [None, phase(failed=True)])
def test_a_host_without_a_recorded_undo_keeps_nothing(rollback: PhaseResult | None) -> None:
    assert keep_reason(stack(), "h3", rollback_wanted=True, rollback=rollback) == ""
    assert keep_reason(UndoStack(), "h1", rollback_wanted=True, rollback=rollback) == ""


def test_recorded_undos_are_kept_in_order_and_journaled(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    s = UndoStack()
    first = StepResult(
        FIRST,
        (
            HostResult("h1", OK, undos=(Undo("release", {"to": "v1"}, "back to v1"),)),
            HostResult("h2", OK),
        ),
        "",
        0.0,
        0.0,
    )
    second = StepResult(
        SECOND, (HostResult("h2", OK, undos=(Undo("config", {"file": "a.conf"}),)),), "", 0, 0
    )
    hosts = {"h1": H1, "h2": H2}
    s.record(first, hosts, journal)
    s.record(second, hosts, journal)
    journal.close()
    assert s.entries == [
        (H1, Undo("release", {"to": "v1"}, "back to v1"), FIRST),
        (H2, Undo("config", {"file": "a.conf"}), SECOND),
    ]
    fields = ("event", "step", "host", "action", "args", "summary")
    assert [tuple(e[f] for f in fields) for e in read_events(tmp_path / "journal.jsonl")] == [
        ("undo_recorded", "install v2", "h1", "release", {"to": "v1"}, "back to v1"),
        ("undo_recorded", "switch config", "h2", "config", {"file": "a.conf"}, ""),
    ]


def test_state_is_noted_on_the_hosts_a_stateful_step_did_not_skip() -> None:
    s = UndoStack()
    config = replace(FIRST, action="config")
    hosts = (HostResult("h1", FAILED), HostResult("h2", SKIPPED), HostResult("h3", OK))
    s.note_state(StepResult(config, hosts, "", 0.0, 0.0))
    assert s.stateful == {"h1", "h3"}  # a failed step may have kept a snapshot already
    s.note_state(StepResult(FIRST, (HostResult("h4", OK),), "", 0.0, 0.0))  # shell keeps none
    assert s.stateful == {"h1", "h3"}
