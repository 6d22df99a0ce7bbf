"""A checklist prompt answers from the terminal, and gives way at once to an interrupt."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import IO

import pytest

from runner.engine.checkpoints import _terminal_prompt


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[IO[str]]:
    """stdin as a pipe the test types into."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd) as stdin, os.fdopen(write_fd, "w") as keyboard:
        monkeypatch.setattr("sys.stdin", stdin)
        yield keyboard


def test_the_prompt_returns_what_the_operator_typed(terminal: IO[str]) -> None:
    terminal.write("y\n")
    terminal.flush()
    assert _terminal_prompt("confirm? ", lambda: False).strip() == "y"


def test_the_prompt_gives_up_unanswered_as_soon_as_the_drill_is_interrupted(
    terminal: IO[str],
) -> None:
    interrupted = threading.Event()
    threading.Timer(0.2, interrupted.set).start()
    started = time.monotonic()
    answer = _terminal_prompt("confirm? ", interrupted.is_set)
    assert answer == ""
    assert 0.2 <= time.monotonic() - started < 1.0


def test_end_of_input_is_not_a_confirmation(terminal: IO[str]) -> None:
    terminal.close()
    assert _terminal_prompt("confirm? ", lambda: False) == ""
