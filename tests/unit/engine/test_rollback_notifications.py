"""The messages a drill sends while it rolls back: one when the rollback starts, then one
per rollback step with its number, name and status, as the procedure's stakeholders get
them. Steps of the other phases send no progress.

Each drill runs in this process against a fake target (tests/fakes); the channel is a fake
that keeps what it was sent.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import pytest

import runner.engine.notices
from runner.notify.dispatch import Notifier
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import run_drill

PLAYBOOK = (
    "drill: notified\nrollback_type: 2\n"
    "notify:\n"
    "  channels: {desk: 'json://desk'}\n"
    "  events: [rollback, progress]\n"
    "  templates:\n"
    "    rollback: 'rollback: {{ reason }}'\n"
    "    progress: '{{ step_number }}/{{ step_count }} {{ step_name }} {{ step_status }}'\n"
    "deploy:\n  - {name: change, shell: ok change}\n"
    "rollback:\n  - {name: undo a, shell: ok undo-a}\n  - {name: undo b, shell: fail undo-b}\n"
    "verify:\n  - {name: check, shell: ok check}\n"
    "cleanup:\n  - {name: tidy, shell: ok tidy}\n"
)


class Channel:
    """A fake channel: keeps every message body, in the order sent."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, url: str, title: str, body: str, timeout_s: float) -> bool:
        with self._lock:
            self.bodies.append(body)
        return True


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> Channel:
    sent = Channel()
    monkeypatch.setattr(runner.engine.notices, "Notifier", functools.partial(Notifier, send=sent))
    return sent


def test_the_rollback_and_each_of_its_steps_are_announced(tmp_path: Path, channel: Channel) -> None:
    run = run_drill(PLAYBOOK, tmp_path, FakeTarget())
    assert channel.bodies == [
        "rollback: the drill's planned rollback rehearsal",
        "1/2 undo a ok",
        "2/2 undo b failed",
    ]
    assert run.outcome.rollback_succeeded is False
