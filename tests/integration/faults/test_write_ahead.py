"""Acceptance: under group commit a fault's intent is still written ahead of its injection.

The runner is killed (SIGKILL) the moment a fault's injection has happened on the target;
its journal must always hold that fault's `fault_intent`, so `drillctl recover` reverts it.
The inject command itself copies the journal as it is at that instant, which shows the
intent was in the file before the injection began, not merely before the kill. That the
intent is also fsynced before `record` returns is tests/unit/test_journal_group_commit.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.journal import read_events
from tests.conftest import run_drillctl
from tests.integration.faults.crash import run_and_kill_when

pytestmark = pytest.mark.integration

FAULTS = 3
ROUNDS = 3  # kills after each fault's injection, FAULTS x ROUNDS in all


def marker(directory: Path, fault: int) -> Path:
    return directory / f"wal-marker-{fault}.flag"


def write_ahead_playbook(directory: Path, run_dir: Path, snapshots: Path) -> str:
    journal = run_dir / "journal.jsonl"
    faults = "".join(
        f"  - name: fault {i}\n"
        f"    fault: {{kind: custom, name: w{i}, "
        f"inject: 'cp {journal} {snapshots}/at-inject-{i}.jsonl && touch {marker(directory, i)}',"
        f" revert: 'rm -f {marker(directory, i)}', check: 'test -f {marker(directory, i)}'}}\n"
        # Ordinary (batched) lines between the faults, as a real drill writes them.
        f"  - shell: 'true'\n"
        f"  - shell: 'true'\n"
        for i in range(FAULTS)
    )
    return (
        "drill: write-ahead\nrollback_type: 2\n"
        "prepare:\n  - shell: 'true'\n"
        f"inject:\n{faults}"
        "rollback:\n  - shell: 'true'\n"
    )


def intents_for(events: list[dict[str, object]], fault: int) -> list[dict[str, object]]:
    name = f"wal-marker-{fault}.flag"
    return [e for e in events if e["event"] == "fault_intent" and name in json.dumps(e)]


def test_kill_9_right_after_an_injection_always_finds_its_intent(tmp_path: Path) -> None:
    kills = 0
    for rnd in range(ROUNDS):
        for fault in range(FAULTS):
            work = tmp_path / f"r{rnd}-f{fault}"
            snapshots = work / "snapshots"
            snapshots.mkdir(parents=True)
            run_dir = work / "run"
            playbook = work / "drill.yml"
            playbook.write_text(write_ahead_playbook(work, run_dir, snapshots))
            injected = marker(work, fault)
            killed = run_and_kill_when([str(playbook)], run_dir, injected.exists)
            assert killed, f"fault {fault}: the runner ended before the kill"
            assert injected.exists(), f"fault {fault}: killed before the injection"
            kills += 1

            at_inject = list(read_events(snapshots / f"at-inject-{fault}.jsonl"))
            assert len(intents_for(at_inject, fault)) == 1, "intent not written before injecting"
            after_kill = list(read_events(run_dir / "journal.jsonl"))
            intents = intents_for(after_kill, fault)
            assert len(intents) == 1, f"round {rnd}: fault {fault}'s intent is not in the journal"
            assert after_kill[: len(at_inject)] == at_inject, "lines changed after the injection"

            recovered = run_drillctl("recover", str(run_dir))
            assert recovered.returncode == 0, recovered.stdout + recovered.stderr
            assert not list(work.glob("wal-marker-*")), "recover left a fault in place"
            assert run_drillctl("verify", str(run_dir)).returncode == 0
    assert kills == FAULTS * ROUNDS
