"""`drillctl approve` approves only a run that waits for a manual decision now (else exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli import main
from runner.engine.monitor import APPROVAL_FILE, waiting_for_decision
from runner.journal import JOURNAL_NAME, Journal
from runner.journal_events import Event
from runner.playbook.secrets import SecretMask


def run_dir(tmp_path: Path, *kinds: Event, pid: int | None = None) -> Path:
    """A run directory whose journal holds run_started, then `kinds` in order."""
    out = tmp_path / "run"
    out.mkdir()
    journal = Journal(out / JOURNAL_NAME, SecretMask())
    journal.record(Event.RUN_STARTED, run_id="r", pid=os.getpid() if pid is None else pid)
    for kind in kinds:
        journal.record(kind)
    journal.close()
    return out


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def test_a_run_asking_for_a_decision_can_be_approved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_dir(tmp_path, Event.PHASE_STARTED, Event.DECISION_REQUESTED)
    assert waiting_for_decision(out) == ""
    assert main(["approve", str(out), "--operator", "bob"]) == 0
    approval = json.loads((out / APPROVAL_FILE).read_text())
    assert approval["operator"] == "bob" and approval["at"].endswith("Z")
    assert "approved:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kinds", "why"),
    [
        ((Event.PHASE_STARTED,), "the run is not waiting for a decision"),
        ((Event.DECISION_REQUESTED, Event.DECISION), "the run is not waiting for a decision"),
        ((Event.DECISION_REQUESTED, Event.RUN_FINISHED), "the run has finished"),
        ((Event.DECISION_REQUESTED, Event.INTERRUPTED), "the run has finished"),
    ],
)
def test_a_run_not_waiting_is_refused_with_exit_2_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kinds: tuple[Event, ...], why: str
) -> None:
    out = run_dir(tmp_path, *kinds)
    assert main(["approve", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}:1:1: nothing to approve: {why}" in err and "Traceback" not in err
    assert not (out / APPROVAL_FILE).exists()


def test_a_run_whose_runner_died_while_waiting_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_dir(tmp_path, Event.DECISION_REQUESTED, pid=dead_pid())
    assert main(["approve", str(out)]) == 2
    assert "the run's process is gone" in capsys.readouterr().err


def test_a_missing_run_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["approve", str(tmp_path / "nothing")]) == 2
    assert "no such run directory" in capsys.readouterr().err
