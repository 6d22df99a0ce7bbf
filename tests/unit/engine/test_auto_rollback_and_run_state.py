"""`rollback: auto` runs what deploy's actions recorded, and only that; the snapshots and
backups a run kept on a target are removed at the end, unless the rollback may still need
them (it failed, or never ran when one was wanted).

Each drill runs in this process against a fake target (tests/fakes). `flag` steps talk to a
fake flag service (its values by URL) instead of HTTP; a `config` step marks its host as
keeping state (the fake target cannot run it, so it fails, ignored). Removing the state is
a command the fake target refuses too: the journal then says the removal was tried and what
it answered, which is how these tests tell "removed" from "kept on purpose".
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import runner.actions.flag
from runner.actions.http import HttpResponse
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import InProcessRun, run_drill, write_inventory

DEPLOY_FLAG = "http://flags.test/deploy"
PREPARE_FLAG = "http://flags.test/prepare"
TRIED = "fake target: unknown command 'rm -rf -- "  # the removal ran (and the fake refused it)


@pytest.fixture
def flags(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The fake flag service: every flag starts off."""
    values: dict[str, Any] = {DEPLOY_FLAG: False, PREPARE_FLAG: False}

    def request(
        url: str,
        *,
        method: str = "GET",
        headers: Any = None,
        body: bytes | None = None,
        timeout: float = 10.0,
    ) -> HttpResponse:
        if method != "GET":
            values[url] = json.loads(body or b"{}")["enabled"]
        return HttpResponse(200, json.dumps({"enabled": values[url]}), 0.001)

    monkeypatch.setattr(runner.actions.flag, "request", request)
    monkeypatch.setattr("sys.stdin", io.StringIO())  # no terminal to approve at
    return values


def flag_step(name: str, url: str) -> str:
    return f"  - {{name: {name}, flag: {{url: '{url}', value: true}}}}\n"


def drill(tmp_path: Path, text: str, **request: Any) -> tuple[InProcessRun, FakeTarget]:
    target = FakeTarget()
    inventory = write_inventory(tmp_path, {"web1": {}})
    return run_drill(text, tmp_path, target, inventory=inventory, **request), target


def events(run: InProcessRun, kind: str) -> list[dict[str, Any]]:
    return [e for e in run.events() if e["event"] == kind]


# -- rollback: auto ---------------------------------------------------------------------------


def test_rollback_auto_undoes_what_deploy_changed_and_nothing_else(
    tmp_path: Path, flags: dict[str, Any]
) -> None:
    text = (
        "drill: auto\nrollback_type: 2\n"
        "prepare:\n"
        + flag_step("baseline flag", PREPARE_FLAG)
        + "deploy:\n  - {name: change, shell: ok change}\n"
        + flag_step("turn it on", DEPLOY_FLAG)
        + "rollback: auto\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )
    run, _ = drill(tmp_path, text)
    # Only deploy's change was recorded, and the rollback undid exactly that.
    assert [(e["step"], e["args"]["url"]) for e in events(run, "undo_recorded")] == [
        ("turn it on", DEPLOY_FLAG)
    ]
    assert flags == {DEPLOY_FLAG: False, PREPARE_FLAG: True}
    [rollback] = [p for p in run.outcome.phases if p.phase == "rollback"]
    assert [s.step.name for s in rollback.steps] == [f"undo: set {DEPLOY_FLAG} back to false"]
    assert (run.exit_code, run.outcome.rollback_succeeded) == (0, True)


def test_written_rollback_steps_run_instead_of_the_recorded_undos(
    tmp_path: Path, flags: dict[str, Any]
) -> None:
    text = (
        "drill: written\nrollback_type: 2\n"
        "deploy:\n"
        + flag_step("turn it on", DEPLOY_FLAG)
        + "rollback:\n  - {name: undo by hand, shell: ok by-hand}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )
    run, target = drill(tmp_path, text)
    assert target.ran("by-hand")
    assert flags[DEPLOY_FLAG] is True  # no recorded undo ran
    [rollback] = [p for p in run.outcome.phases if p.phase == "rollback"]
    assert [s.step.name for s in rollback.steps] == ["undo by hand"]


# -- the state kept on the targets ------------------------------------------------------------


def stateful_playbook(rollback: str, extra: str = "", deploy_tail: str = "") -> str:
    """web1 keeps state (a config step) and has a recorded undo (a flag step)."""
    return (
        "drill: run state\nrollback_type: 2\n"
        "deploy:\n"
        "  - {name: conf, config: {dest: /etc/app.conf, content: 'a=1'}, ignore_errors: true}\n"
        + flag_step("turn it on", DEPLOY_FLAG)
        + deploy_tail
        + f"rollback:\n  - {{name: undo, shell: {rollback}}}\n"
        "verify:\n  - {name: check, shell: ok check}\n" + extra
    )


def kept(run: InProcessRun) -> list[str]:
    return [e["reason"] for e in events(run, "run_state_kept") if e["host"] == "web1"]


def test_the_state_is_removed_once_the_rollback_succeeded(
    tmp_path: Path, flags: dict[str, Any]
) -> None:
    run, _ = drill(tmp_path, stateful_playbook("ok undo"))
    [why] = kept(run)
    assert why.startswith(TRIED)


def test_the_state_stays_when_the_rollback_failed(tmp_path: Path, flags: dict[str, Any]) -> None:
    run, _ = drill(tmp_path, stateful_playbook("fail undo"))
    assert kept(run) == ["the rollback failed"]
    assert any(n.startswith("web1: kept ") and "the rollback failed" in n for n in run.view.notices)


def test_the_state_stays_when_a_wanted_rollback_never_ran(
    tmp_path: Path, flags: dict[str, Any]
) -> None:
    manual = "decision: {manual: true, timeout: 300ms, on_timeout: abort}\n"
    text = stateful_playbook("ok undo", manual, "  - {name: boom, shell: fail boom}\n")
    run, target = drill(tmp_path, text)
    assert not target.ran("undo")
    assert kept(run) == ["the rollback did not run"]


def test_the_state_is_removed_when_no_rollback_was_wanted(
    tmp_path: Path, flags: dict[str, Any]
) -> None:
    text = stateful_playbook("ok undo").replace(
        "rollback_type: 2\n", "rollback_type: 2\nrollback_when: failure\n"
    )
    run, target = drill(tmp_path, text)
    assert run.outcome.trigger is None and not target.ran("undo")
    [why] = kept(run)
    assert why.startswith(TRIED)


def test_the_state_is_removed_when_the_change_stands_by_design(
    tmp_path: Path, flags: dict[str, Any]
) -> None:
    # rollback_type 5 never rolls back: even after a failure, the change stands.
    failing = stateful_playbook("ok undo", deploy_tail="  - {name: boom, shell: fail boom}\n")
    text = failing.replace("rollback_type: 2\n", "rollback_type: 5\n")
    run, target = drill(tmp_path, text, allow_irreversible=True)
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "step_failed"
    assert not target.ran("undo")
    [why] = kept(run)
    assert why.startswith(TRIED)
