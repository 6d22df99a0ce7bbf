"""`drillctl approve` approves only a run that waits for a manual decision now (else exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli import main
from runner.engine.monitor import APPROVALS_DIR, read_approvals, waiting_for_decision
from runner.journal import JOURNAL_NAME, Journal
from runner.journal_events import Event
from runner.secrets import SecretMask


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
    [approval] = read_approvals(out)
    assert approval.by == "bob" and approval.at.endswith("Z") and approval.via == "approve"
    assert "(1 of 1 approvals)" in capsys.readouterr().out


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
    assert not (out / APPROVALS_DIR).exists()


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


def test_a_quorum_counts_distinct_approvers_and_refuses_the_same_one_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    journal = Journal(out / JOURNAL_NAME, SecretMask())
    journal.record(Event.RUN_STARTED, run_id="r", pid=os.getpid())
    journal.record(Event.DECISION_REQUESTED, timeout_s=60, on_timeout="abort", approvers=2)
    journal.close()
    assert main(["approve", str(out), "--operator", "alice"]) == 0
    assert "(1 of 2 approvals; 1 more needed)" in capsys.readouterr().out
    assert main(["approve", str(out), "--operator", "alice"]) == 2
    assert "alice has approved this rollback already" in capsys.readouterr().err
    assert main(["approve", str(out), "--operator", "bob"]) == 0
    assert "(2 of 2 approvals)" in capsys.readouterr().out
    assert [a.by for a in read_approvals(out)] == ["alice", "bob"]
