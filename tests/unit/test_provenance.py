"""Provenance: file digests, the playbook's git commit and dirtiness, or why they are unknown."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runner.journal import Journal
from runner.journal_events import Event
from runner.provenance import collect, git_state, provenance_from_journal
from runner.secrets import SecretMask

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "drill.yml").write_text("drill: x\n")
    git(root, "add", "drill.yml")
    git(root, "commit", "-q", "-m", "first")
    return root


@needs_git
def test_a_playbook_in_a_clean_repository_gives_its_commit_and_clean(repo: Path) -> None:
    state = git_state(repo)
    assert state.commit == git(repo, "rev-parse", "HEAD") and len(state.commit) == 40
    assert state.dirty is False and state.reason is None


@needs_git
def test_a_changed_tracked_file_makes_the_repository_dirty(repo: Path) -> None:
    (repo / "drill.yml").write_text("drill: y\n")
    assert git_state(repo).dirty is True


@needs_git
def test_an_untracked_file_does_not_make_it_dirty(repo: Path) -> None:
    (repo / "notes.txt").write_text("scratch\n")
    assert git_state(repo).dirty is False


@needs_git
def test_outside_a_repository_the_commit_is_null_with_the_reason(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    state = git_state(lonely)
    assert (state.commit, state.dirty) == (None, None)
    assert state.reason == "the playbook is not in a git repository"


def test_a_git_that_hangs_is_given_up_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    sleep = shutil.which("sleep")
    assert sleep is not None
    (fake / "git").write_text(f"#!/bin/sh\nexec {sleep} 5\n")
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    state = git_state(tmp_path, timeout=0.3)
    assert (state.commit, state.dirty) == (None, None)
    assert state.reason == "git did not answer within 0.3s"


def test_without_git_the_reason_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert git_state(tmp_path).reason == "git is not installed on the controller"


def test_collect_hashes_the_playbook_and_inventory_bytes(tmp_path: Path) -> None:
    playbook, inventory = tmp_path / "p.yml", tmp_path / "i.yml"
    playbook.write_bytes(b"drill: x\n")
    inventory.write_bytes(b"all: {}\n")
    facts = collect(str(playbook), str(inventory), "alice")
    assert facts.playbook_sha256 == hashlib.sha256(b"drill: x\n").hexdigest()
    assert facts.inventory_sha256 == hashlib.sha256(b"all: {}\n").hexdigest()
    assert facts.operator == "alice" and facts.controller_host
    implicit = collect(str(playbook), None, "alice")
    assert implicit.inventory_sha256 is None
    assert implicit.inventory_reason == "no inventory file: the implicit localhost"


def test_a_rebuild_takes_provenance_and_approvers_from_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path, SecretMask())
    facts = {"drillctl_version": "9", "operator": "alice", "signing_key": "ed25519:x"}
    journal.record(Event.RUN_STARTED, run_id="r", provenance=facts)
    journal.record(
        Event.DECISION,
        decision="rollback",
        mode="manual",
        approved_by="bob",
        approved_at="2026-12-01T10:00:00.000Z",
        approved_via="approve",
        timed_out=False,
    )
    final = journal.record(Event.RUN_FINISHED, status="passed", reason="", signal="")
    journal.record(Event.RECOVER_STARTED, pending=[], pid=1)
    journal.close()
    from runner.journal import read_events

    prov = provenance_from_journal(list(read_events(path)))
    assert prov is not None
    assert prov["drillctl_version"] == "9" and "signing_key" not in prov
    assert prov["approvers"] == [{"by": "bob", "at": "2026-12-01T10:00:00.000Z", "via": "approve"}]
    # The head is the final event's, not a later recover line's.
    assert prov["journal"]["head"] == final["hash"] and prov["journal"]["events"] == 3
