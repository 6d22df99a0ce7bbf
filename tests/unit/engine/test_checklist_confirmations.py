"""Checklist confirmations: who confirmed which item, how, and the journal's word for it.

A confirmation given up front (`--confirm ID`) or answered yes at the prompt is recorded
once, with the operator and the time, and journaled as `checklist_confirmed` with the
item's id, who and how; an item answered anything else stays open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from runner.engine import checkpoints
from runner.engine.checkpoints import Checkpoints, _terminal_prompt
from runner.journal import Journal, read_events
from runner.playbook.checklists import ChecklistItem, evaluate
from runner.secrets import SecretMask

ITEMS = (
    ChecklistItem("before", "stakeholders", "Stakeholders notified", confirm=True),
    ChecklistItem("before", "freeze", "Change freeze announced", confirm=True),
    ChecklistItem("before", "backup", "Backup taken", confirm=True),
    ChecklistItem("after", "healthy", "Services verified operational", step="healthy again"),
)


def confirmations(tmp_path: Path, answers: dict[str, str]) -> tuple[Checkpoints, list[dict]]:
    """Checkpoints for ITEMS as alice, `stakeholders` given up front, the rest asked at a
    prompt that answers from `answers` (by question); and the journal's events."""
    asked: list[str] = []

    def ask(question: str, stop: Callable[[], bool]) -> str:
        asked.append(question)
        return answers[question]

    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    checkpoints = Checkpoints(ITEMS, journal, "alice", ["stakeholders"], ask=ask)
    checkpoints.reached("before")
    journal.close()
    assert asked == list(answers)
    return checkpoints, list(read_events(tmp_path / "journal.jsonl"))


def test_each_confirmation_is_journaled_with_its_item_who_and_how(tmp_path: Path) -> None:
    answers = {
        "[before] Change freeze announced — confirm? [y/N] ": " Yes\n",
        "[before] Backup taken — confirm? [y/N] ": "no\n",
    }
    _, events = confirmations(tmp_path, answers)
    assert [
        {k: e.get(k) for k in ("event", "id", "by", "via")}
        for e in events
        if e["event"] == "checklist_confirmed"
    ] == [
        {"event": "checklist_confirmed", "id": "stakeholders", "by": "alice", "via": "--confirm"},
        {"event": "checklist_confirmed", "id": "freeze", "by": "alice", "via": "prompt"},
    ]


def test_confirmed_items_carry_who_and_when_into_the_checklist(tmp_path: Path) -> None:
    answers = {
        "[before] Change freeze announced — confirm? [y/N] ": "y\n",
        "[before] Backup taken — confirm? [y/N] ": "\n",
    }
    before = datetime.now().astimezone()
    checkpoints, _ = confirmations(tmp_path, answers)
    assert sorted(checkpoints.confirmed) == ["freeze", "stakeholders"]
    for item_id, given in checkpoints.confirmed.items():
        assert (given.id, given.by) == (item_id, "alice")
        at = datetime.fromisoformat(given.at.replace("Z", "+00:00"))
        assert before.timestamp() - 1 <= at.timestamp() <= datetime.now().timestamp() + 1
    states = {
        e["id"]: (e["state"], e.get("by"))
        for e in evaluate(ITEMS, {}, checkpoints.confirmed)
        if e["kind"] == "confirmation"
    }
    assert states == {
        "stakeholders": ("confirmed", "alice"),
        "freeze": ("confirmed", "alice"),
        "backup": ("open", None),
    }


def test_an_interrupted_prompt_ends_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    # The question is left unanswered; the terminal's next line must not run on after it.
    assert _terminal_prompt("[before] Backup taken — confirm? [y/N] ", lambda: True) == ""
    assert capsys.readouterr().out == "[before] Backup taken — confirm? [y/N] \n"


@pytest.mark.parametrize("interactive", [True, False])
def test_without_a_prompt_of_its_own_only_a_terminal_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interactive: bool
) -> None:
    asked: list[str] = []

    def terminal(question: str, stop: Callable[[], bool]) -> str:
        asked.append(question)
        return "y\n"

    monkeypatch.setattr(checkpoints, "_interactive", lambda: interactive)
    monkeypatch.setattr(checkpoints, "_terminal_prompt", terminal)
    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    confirming = Checkpoints(ITEMS, journal, "alice", [])
    confirming.reached("before")
    journal.close()
    if interactive:
        assert asked == [f"[before] {i.text} — confirm? [y/N] " for i in ITEMS[:3]]
        assert sorted(confirming.confirmed) == ["backup", "freeze", "stakeholders"]
    else:
        assert asked == [] and confirming.confirmed == {}


def test_the_prompt_is_told_when_to_give_up(tmp_path: Path) -> None:
    stops: list[Callable[[], bool]] = []

    def ask(question: str, stop: Callable[[], bool]) -> str:
        stops.append(stop)
        return "n"

    def interrupted() -> bool:
        return False

    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    Checkpoints(ITEMS, journal, "alice", [], ask=ask).reached("before", interrupted)
    journal.close()
    assert stops == [interrupted] * 3


class Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("stdin", "stdout", "interactive"),
    [
        pytest.param(Stream(True), Stream(True), True, id="both-terminals"),
        pytest.param(Stream(True), Stream(False), False, id="output-redirected"),
        pytest.param(Stream(False), Stream(True), False, id="input-redirected"),
        pytest.param(None, Stream(True), False, id="no-input"),
    ],
)
def test_a_prompt_needs_a_terminal_on_both_ends(
    monkeypatch: pytest.MonkeyPatch, stdin: Stream | None, stdout: Stream, interactive: bool
) -> None:
    monkeypatch.setattr("sys.stdin", stdin)
    monkeypatch.setattr("sys.stdout", stdout)
    assert checkpoints._interactive() is interactive
