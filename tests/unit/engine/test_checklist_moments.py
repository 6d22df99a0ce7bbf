"""When a drill asks the operator to confirm checklist items: `before` ahead of the first
step, `during` once the rollback is decided and before its steps, `after` once verify is
done; never once the drill is interrupted. What was confirmed, at a prompt or up front with
`--confirm`, is in the run's outcome and its journal.

Each drill runs in this process against a fake target (tests/fakes); the terminal prompt is
replaced by one that answers "y" and notes what it was asked, and what had run by then.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import runner.engine.checkpoints
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import InProcessRun, Signals, run_drill

PLAYBOOK = (
    "drill: checklists\nrollback_type: 2\n"
    "checklists:\n"
    "  before: [{id: notified, text: Stakeholders notified, confirm: true}]\n"
    "  during: [{id: decided, text: Rollback decision recorded, confirm: true}]\n"
    "  after: [{id: healthy, text: Services verified, confirm: true}]\n"
    "prepare:\n  - {name: baseline, shell: ok baseline}\n"
    "deploy:\n  - {name: change, shell: ok change}\n"
    "rollback:\n  - {name: undo, shell: ok undo}\n"
    "verify:\n  - {name: check, shell: ok check}\n"
)


class Prompt:
    """The operator at the terminal: says yes to everything, and notes when it was asked."""

    def __init__(self, target: FakeTarget) -> None:
        self.target = target
        self.asked: list[tuple[str, list[str]]] = []  # (question, steps run by then)

    def __call__(self, question: str, stop: Callable[[], bool]) -> str:
        self.asked.append((question, [name for _, _, name in self.target.snapshot()]))
        return "y\n"


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


@pytest.fixture
def prompt(monkeypatch: pytest.MonkeyPatch, target: FakeTarget) -> Prompt:
    answer = Prompt(target)
    monkeypatch.setattr(runner.engine.checkpoints, "_interactive", lambda: True)
    monkeypatch.setattr(runner.engine.checkpoints, "_terminal_prompt", answer)
    return answer


def confirmed(run: InProcessRun) -> list[tuple[str, str, str]]:
    return [
        (e["id"], e["by"], e["via"]) for e in run.events() if e["event"] == "checklist_confirmed"
    ]


def test_each_list_is_asked_at_its_moment_of_the_drill(
    tmp_path: Path, target: FakeTarget, prompt: Prompt
) -> None:
    run = run_drill(PLAYBOOK, tmp_path, target)
    assert prompt.asked == [
        ("[before] Stakeholders notified — confirm? [y/N] ", []),
        ("[during] Rollback decision recorded — confirm? [y/N] ", ["baseline", "change"]),
        ("[after] Services verified — confirm? [y/N] ", ["baseline", "change", "undo", "check"]),
    ]
    assert confirmed(run) == [
        ("notified", "test", "prompt"),
        ("decided", "test", "prompt"),
        ("healthy", "test", "prompt"),
    ]
    confirmations = run.outcome.confirmations
    assert sorted(confirmations) == ["decided", "healthy", "notified"]
    assert all(c.by == "test" for c in confirmations.values())
    assert run.exit_code == 0


def test_nothing_more_is_asked_once_the_drill_is_interrupted(
    tmp_path: Path, target: FakeTarget, prompt: Prompt
) -> None:
    signals = Signals()
    target.on("change", lambda call: signals.send(signal.SIGINT))
    run = run_drill(PLAYBOOK, tmp_path, target, signals)
    assert [question for question, _ in prompt.asked] == [
        "[before] Stakeholders notified — confirm? [y/N] "
    ]
    assert target.ran("undo")  # the rollback ran, without its `during` question
    assert sorted(run.outcome.confirmations) == ["notified"]
    assert run.exit_code == 130


def test_an_item_confirmed_up_front_is_not_asked_and_is_in_the_outcome(
    tmp_path: Path, target: FakeTarget, prompt: Prompt
) -> None:
    run = run_drill(PLAYBOOK, tmp_path, target, confirm=("notified",))
    assert [q for q, _ in prompt.asked if q.startswith("[before]")] == []
    assert confirmed(run)[0] == ("notified", "test", "--confirm")
    assert sorted(run.outcome.confirmations) == ["decided", "healthy", "notified"]


def test_without_a_terminal_nothing_is_asked_and_only_up_front_items_count(
    tmp_path: Path, target: FakeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner.engine.checkpoints, "_interactive", lambda: False)
    run = run_drill(PLAYBOOK, tmp_path, target, confirm=("healthy",))
    outcome: dict[str, Any] = dict(run.outcome.confirmations)
    assert list(outcome) == ["healthy"] and outcome["healthy"].by == "test"
    assert confirmed(run) == [("healthy", "test", "--confirm")]


def test_an_interrupt_at_a_prompt_leaves_the_rest_of_the_list_unasked(
    tmp_path: Path, target: FakeTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    signals = Signals()
    asked: list[str] = []

    def interrupted_prompt(question: str, stop: Callable[[], bool]) -> str:
        asked.append(question)
        signals.send(signal.SIGINT)
        assert stop(), "the prompt was not told of the interrupt"
        return ""  # gave up unanswered, as the terminal prompt does

    monkeypatch.setattr(runner.engine.checkpoints, "_interactive", lambda: True)
    monkeypatch.setattr(runner.engine.checkpoints, "_terminal_prompt", interrupted_prompt)
    text = PLAYBOOK.replace(
        "  before: [{id: notified, text: Stakeholders notified, confirm: true}]\n",
        "  before:\n"
        "    - {id: notified, text: Stakeholders notified, confirm: true}\n"
        "    - {id: window, text: Change window open, confirm: true}\n",
    )
    run = run_drill(text, tmp_path, target, signals)
    assert asked == ["[before] Stakeholders notified — confirm? [y/N] "]
    assert run.outcome.confirmations == {}
    assert not target.ran("change")
    assert run.exit_code == 130
