"""`drillctl verify RUN_DIR`: is this run's evidence what the runner wrote?

Three checks, each stronger than the last:

1. the hash chain: no line changed, removed, reordered or torn (runner/journal.py);
2. the run's end: a run that finished (it left result.json, reports or a signature) ends its
   journal with its final event (`run_finished` or `interrupted`, then at most the sessions of
   `drillctl recover`), and that event's hash is the head result.json records. Cutting lines
   off the end (`head -n -1 journal.jsonl`) leaves a chain that checks, but not this;
3. the signature, when the run was signed (`run --sign-key`): the signed head is the final
   event's hash and, with `--pubkey`, the given key signed it. Someone who edits lines and
   recomputes every hash after them cannot make a new signature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from runner.journal import JOURNAL_NAME, read_events, verify_chain
from runner.journal_events import FINAL_EVENTS, Event
from runner.signing import SIGNATURE_NAME, check_signature, read_signature

RESULT_NAME = "result.json"
REPORT_NAMES = ("report.html", "report.md", "junit.xml")
# What `drillctl recover` may append after a run's final event.
RECOVER_EVENTS = frozenset(
    {Event.RECOVER_STARTED, Event.FAULT_REVERTED, Event.FAULT_REVERT_FAILED, Event.RECOVER_FINISHED}
)


@dataclass
class RunVerification:
    """What verify found; `problems` empty means the evidence holds."""

    journal: Path
    events: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (journal line, why)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, line: int, why: str) -> None:
        self.problems.append((line, why))


def verify_run(run_dir: Path, pubkey: Ed25519PublicKey | None = None) -> RunVerification:
    """Check the journal of `run_dir` (or a journal file given directly)."""
    journal = run_dir / JOURNAL_NAME if run_dir.is_dir() else run_dir
    report = RunVerification(journal)
    chain = verify_chain(journal)
    report.events = chain.events
    if not chain.ok:
        report.fail(chain.line, f"{chain.problem} ({chain.events} events verified before it)")
        return report
    report.notes.append(f"hash chain intact ({chain.events} events)")
    events = list(read_events(journal))
    final_line = _final_line(events, report)
    directory = journal.parent
    result, result_problem = _read_result(directory / RESULT_NAME)
    if result_problem:
        report.fail(len(events), result_problem)
    finished_files = [
        n for n in (RESULT_NAME, *REPORT_NAMES, SIGNATURE_NAME) if (directory / n).exists()
    ]
    if final_line is None:
        if finished_files:
            report.fail(
                len(events),
                f"the journal ends without its final event ({' or '.join(FINAL_EVENTS)}), yet "
                f"the run finished ({', '.join(finished_files)} exist): lines were cut from "
                "its end",
            )
        else:
            report.notes.append(
                "the run did not finish: no final event and no result.json (it is still "
                "going, or it died: `drillctl recover` reverts what it left)"
            )
    final_hash = str(events[final_line - 1]["hash"]) if final_line else None
    if result is not None and final_hash is not None:
        _match_result(result, final_hash, final_line or 0, report)
    _check_signature(directory, events, result, final_hash, pubkey, report)
    return report


def _final_line(events: list[dict[str, Any]], report: RunVerification) -> int | None:
    """The 1-based line of the final event; what may follow it is only `drillctl recover`."""
    final = next(
        (i for i in range(len(events) - 1, -1, -1) if events[i].get("event") in FINAL_EVENTS),
        None,
    )
    if final is None:
        return None
    tail = events[final + 1 :]
    for offset, event in enumerate(tail, start=final + 2):
        if event.get("event") not in RECOVER_EVENTS:
            report.fail(offset, f"event {event.get('event')!r} after the run's final event")
            return final + 1
    if tail and tail[-1].get("event") != Event.RECOVER_FINISHED:
        report.fail(
            len(events),
            "the journal ends inside a `drillctl recover` session (no recover_finished): "
            "lines were cut from its end, or recover is still running",
        )
    elif tail:
        report.notes.append("faults left by the run were reverted later by `drillctl recover`")
    return final + 1


def _read_result(path: Path) -> tuple[dict[str, Any] | None, str]:
    if not path.exists():
        return None, ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"result.json cannot be read: {exc}"
    if not isinstance(data, dict):
        return None, "result.json is not a JSON object"
    return data, ""


def _recorded_journal(result: dict[str, Any]) -> dict[str, Any] | None:
    provenance = result.get("provenance")
    if not isinstance(provenance, dict):
        return None
    journal = provenance.get("journal")
    return journal if isinstance(journal, dict) else None


def _match_result(
    result: dict[str, Any], final_hash: str, final_line: int, report: RunVerification
) -> None:
    recorded = _recorded_journal(result)
    if recorded is None:
        report.notes.append("result.json records no journal head (an older drillctl wrote it)")
        return
    head = recorded.get("head")
    if head != final_hash:
        report.fail(
            final_line,
            f"result.json records journal head {str(head)[:16]}…, but the final event's hash "
            f"is {final_hash[:16]}…: the journal or result.json was rewritten",
        )
    else:
        report.notes.append("result.json's journal head matches the final event")


def _check_signature(
    directory: Path,
    events: list[dict[str, Any]],
    result: dict[str, Any] | None,
    final_hash: str | None,
    pubkey: Ed25519PublicKey | None,
    report: RunVerification,
) -> None:
    path = directory / SIGNATURE_NAME
    recorded = _recorded_journal(result) if result else None
    said_signed = bool(recorded and recorded.get("signature"))
    started = events[0] if events and events[0].get("event") == Event.RUN_STARTED else {}
    signing_key = (started.get("provenance") or {}).get("signing_key")
    line = len(events)
    if not path.exists():
        if said_signed or (signing_key and final_hash is not None):
            report.fail(line, f"the run was signed, but {SIGNATURE_NAME} is missing")
        elif pubkey is not None:
            report.fail(line, f"no {SIGNATURE_NAME}: the run was not signed")
        return
    try:
        sig = read_signature(path)
    except ValueError as exc:
        report.fail(line, f"{SIGNATURE_NAME}: {exc}")
        return
    if final_hash is None:
        report.fail(line, f"{SIGNATURE_NAME} exists but the journal has no final event")
        return
    if sig.head != final_hash:
        report.fail(
            line,
            f"{SIGNATURE_NAME} signs head {sig.head[:16]}…, but the final event's hash is "
            f"{final_hash[:16]}…: the journal was rewritten after it was signed",
        )
        return
    if pubkey is None:
        report.notes.append(
            f"signed by {sig.key_id}; give --pubkey to check the signature against a key you trust"
        )
        return
    problem = check_signature(sig, pubkey)
    if problem:
        report.fail(line, f"{SIGNATURE_NAME}: {problem}")
    else:
        report.notes.append(f"signature valid: {sig.key_id} signed the final event's hash")
