"""Operator confirmations of checklist items, at the moment the procedure asks for them."""

from __future__ import annotations

import select
import sys
from collections.abc import Callable, Iterable

from runner.journal import Journal, utc_now
from runner.journal_events import Event
from runner.playbook.checklists import ChecklistItem, Confirmation


class Checkpoints:
    """Collects confirmations: given up front (`--confirm ID`) or answered at a prompt."""

    def __init__(
        self,
        items: Iterable[ChecklistItem],
        journal: Journal,
        operator: str,
        given: Iterable[str],
        ask: Callable[[str, Callable[[], bool]], str] | None = None,
    ) -> None:
        """`ask(question, stop)` answers a prompt; it gives up ("") once `stop()` is true."""
        self.items = [i for i in items if i.confirm]
        self.journal = journal
        self.operator = operator
        self.confirmed: dict[str, Confirmation] = {}
        self._ask = ask if ask is not None else (_terminal_prompt if _interactive() else None)
        for item_id in given:
            self._record(item_id, self.operator, "--confirm")

    def reached(self, list_name: str, stop: Callable[[], bool] = lambda: False) -> None:
        """The drill reached the point of this list: ask for what is still open (terminal only).

        `stop()` turns true on Ctrl-C/SIGTERM: the open questions are then left unanswered
        (not confirmed) and the drill goes on by the interrupt matrix.
        """
        if self._ask is None:
            return
        for item in self.items:
            if stop():
                return
            if item.list != list_name or item.id in self.confirmed:
                continue
            question = f"[{list_name}] {item.text} — confirm? [y/N] "
            answer = self._ask(question, stop).strip().lower()
            if answer in ("y", "yes"):
                self._record(item.id, self.operator, "prompt")

    def _record(self, item_id: str, by: str, how: str) -> None:
        at = utc_now()
        self.confirmed[item_id] = Confirmation(item_id, by, at)
        self.journal.record(Event.CHECKLIST_CONFIRMED, id=item_id, by=by, via=how)


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()


def _terminal_prompt(question: str, stop: Callable[[], bool], poll_s: float = 0.1) -> str:
    """Read one answer from the terminal, giving up ("") as soon as `stop()` is true.

    input() would block until Enter even after Ctrl-C, because the drill handles SIGINT
    itself; polling stdin lets an interrupt take effect at once.
    """
    sys.stdout.write(question)
    sys.stdout.flush()
    while not stop():
        ready, _, _ = select.select([sys.stdin], [], [], poll_s)
        if ready:
            return sys.stdin.readline()  # "" at end of input: not confirmed
    sys.stdout.write("\n")
    return ""
