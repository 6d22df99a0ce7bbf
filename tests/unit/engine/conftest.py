"""Fixtures of the step runner's in-process tests (see step_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.actions import ACTIONS
from tests.unit.engine.step_harness import ScriptedAction, StepBench, bench_fixture


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[StepBench]:
    """One step's runner over the fake target, closed after the test."""
    yield from bench_fixture(tmp_path)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedAction:
    """The scripted step kind, registered for this test only."""
    action = ScriptedAction()
    monkeypatch.setitem(ACTIONS, action.name, action)
    return action
