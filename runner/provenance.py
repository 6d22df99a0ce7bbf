"""Where a run's evidence came from: which drillctl, which playbook and inventory bytes, which
commit, which controller, who ran it and who approved its rollback.

Collected once before anything runs (the files as they were when the drill started), written
into the journal's `run_started` and into result.json and every report. A fact that could not
be established is None with its reason, never a guess: a playbook outside a git repository
has no commit, and says so.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import __version__
from runner.journal_events import FINAL_EVENTS, Event

GIT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class GitState:
    """The commit of the repository holding the playbook, and whether its tracked files differ."""

    commit: str | None
    dirty: bool | None
    reason: str | None = None  # why commit/dirty are None

    def as_json(self) -> dict[str, Any]:
        return {"commit": self.commit, "dirty": self.dirty, "reason": self.reason}


@dataclass(frozen=True)
class Approval:
    """An operator's go-ahead for a rollback waiting on a manual decision."""

    by: str
    at: str  # UTC, ISO 8601
    via: str  # "approve" (drillctl approve) or "terminal" (the prompt)

    def as_json(self) -> dict[str, str]:
        return {"by": self.by, "at": self.at, "via": self.via}


@dataclass(frozen=True)
class Provenance:
    drillctl_version: str
    playbook_path: str
    playbook_sha256: str
    inventory_path: str | None
    inventory_sha256: str | None
    inventory_reason: str | None  # why inventory_sha256 is None
    git: GitState
    controller_host: str
    operator: str

    def as_json(self) -> dict[str, Any]:
        return {
            "drillctl_version": self.drillctl_version,
            "playbook": {"path": self.playbook_path, "sha256": self.playbook_sha256},
            "inventory": {
                "path": self.inventory_path,
                "sha256": self.inventory_sha256,
                "reason": self.inventory_reason,
            },
            "git": self.git.as_json(),
            "controller_host": self.controller_host,
            "operator": self.operator,
        }


@dataclass(frozen=True)
class JournalSeal:
    """The journal as the run left it: its head hash and, when signed, the signature file."""

    file: str
    head: str
    events: int
    signature: str | None  # the signature file's name, None when the run was not signed
    key_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        signature = (
            None
            if self.signature is None
            else {"file": self.signature, "algorithm": "ed25519", "key_id": self.key_id}
        )
        return {"file": self.file, "head": self.head, "events": self.events, "signature": signature}


@dataclass(frozen=True)
class RunEvidence:
    """Everything result.json's `provenance` holds."""

    facts: Provenance
    approvals: tuple[Approval, ...]
    journal: JournalSeal

    def as_json(self) -> dict[str, Any]:
        return {
            **self.facts.as_json(),
            "approvers": [a.as_json() for a in self.approvals],
            "journal": self.journal.as_json(),
        }


def provenance_from_journal(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """result.json's `provenance`, as far as the journal alone proves it (a rebuild).

    run_started carries the facts collected before the run, `decision` events the approvals;
    the head is the final event's hash (or the last line's, for a run that never finished).
    Whether the run was signed is journal.sig's business, not the journal's: null here.
    """
    if not events:
        return None
    facts = events[0].get("provenance")
    if not isinstance(facts, dict):
        return None  # an older drillctl wrote the journal
    finals = [i for i, e in enumerate(events) if e.get("event") in FINAL_EVENTS]
    head_at = finals[-1] if finals else len(events) - 1
    approvals = [a for e in events if e.get("event") == Event.DECISION for a in _approvals(e)]
    return {
        **{k: v for k, v in facts.items() if k != "signing_key"},
        "approvers": [a.as_json() for a in approvals],
        "journal": JournalSeal(
            "journal.jsonl", str(events[head_at].get("hash")), head_at + 1, None
        ).as_json(),
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def collect(playbook: str, inventory: str | Sequence[str] | None, operator: str) -> Provenance:
    """The provenance of a run about to start; reads the files and asks git (bounded).

    Several inventory sources (`-i a -i b`): the path is theirs joined by commas and the
    SHA-256 is that of the lines `<sha256>  <path>`, one per source in order (what
    `sha256sum a b` prints), so a change to any of them changes it."""
    playbook_path = Path(playbook)
    files = [inventory] if isinstance(inventory, str) else list(inventory or ())
    files = [f for f in files if f]
    inventory = ",".join(files)
    if len(files) == 1:
        inv_sha: str | None = file_sha256(Path(files[0]))
        inv_reason = None
    elif files:
        listing = "".join(f"{file_sha256(Path(f))}  {f}\n" for f in files)
        inv_sha, inv_reason = hashlib.sha256(listing.encode()).hexdigest(), None
    else:
        inv_sha, inv_reason = None, "no inventory file: the implicit localhost"
    return Provenance(
        drillctl_version=__version__,
        playbook_path=playbook,
        playbook_sha256=file_sha256(playbook_path),
        inventory_path=inventory or None,
        inventory_sha256=inv_sha,
        inventory_reason=inv_reason,
        git=git_state(playbook_path.resolve().parent),
        controller_host=socket.gethostname(),
        operator=operator,
    )


def git_state(directory: Path, timeout: float = GIT_TIMEOUT_S) -> GitState:
    """HEAD and dirtiness (tracked files only) of the repository around `directory`."""
    head = _git(directory, timeout, "rev-parse", "--verify", "HEAD")
    if isinstance(head, GitState):
        return head
    status = _git(directory, timeout, "status", "--porcelain", "--untracked-files=no")
    if isinstance(status, GitState):
        return GitState(head, None, f"commit known, dirtiness not: {status.reason}")
    return GitState(head, bool(status))


def _git(directory: Path, timeout: float, *args: str) -> str | GitState:
    """git's stdout, or a GitState with the reason it gave none."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return GitState(None, None, "git is not installed on the controller")
    except subprocess.TimeoutExpired:
        return GitState(None, None, f"git did not answer within {timeout:g}s")
    except OSError as exc:
        return GitState(None, None, f"git could not run: {exc}")
    if proc.returncode != 0:
        err = proc.stderr.strip()
        if "not a git repository" in err.lower():
            return GitState(None, None, "the playbook is not in a git repository")
        return GitState(None, None, f"git {args[0]} failed: {err[-200:] or proc.returncode}")
    return proc.stdout.strip()


def _approvals(decision: dict[str, Any]) -> list[Approval]:
    """The approvals a `decision` event names: each of a quorum, or its one approver."""
    given = decision.get("approvals")
    if isinstance(given, list) and given:
        return [
            Approval(str(a.get("by")), str(a.get("at")), str(a.get("via") or "unknown"))
            for a in given
            if isinstance(a, dict)
        ]
    if not decision.get("approved_by"):
        return []
    return [
        Approval(
            str(decision.get("approved_by")),
            str(decision.get("approved_at") or decision.get("time")),
            str(decision.get("approved_via") or "unknown"),
        )
    ]
