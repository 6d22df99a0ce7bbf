"""Fixtures of the engine's in-process tests (the step runner's: see step_harness.py)."""

from __future__ import annotations

import os
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import runner.faults.revert
from runner.actions import ACTIONS
from tests.unit.engine.step_harness import ScriptedAction, StepBench, bench_fixture


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[StepBench]:
    """One step's runner over the fake target, closed after the test."""
    yield from bench_fixture(tmp_path)


@pytest.fixture
def no_revert_pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A revert waits between its attempts; record the waits instead of sleeping."""
    waits: list[float] = []
    clock = types.SimpleNamespace(monotonic=runner.faults.revert.time.monotonic, sleep=waits.append)
    monkeypatch.setattr(runner.faults.revert, "time", clock)
    return waits


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedAction:
    """The scripted step kind, registered for this test only."""
    action = ScriptedAction()
    monkeypatch.setitem(ACTIONS, action.name, action)
    return action


@pytest.fixture(autouse=True)
def no_disk_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests judge the engine's behaviour, not what survives a power cut: the journal's
    and the evidence's syncs to disk (a fifth of the suite's time) are skipped here. The
    journal's own tests and the kill -9 tests keep them real."""
    monkeypatch.setattr(os, "fsync", _no_sync)


def _no_sync(fd: int) -> None:
    os.fstat(fd)  # a closed or wrong descriptor still fails, as the real sync would
