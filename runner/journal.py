"""The run journal: append-only JSONL, fsynced per event, each line hash-chained to the last.

Written as things happen, never built in memory, so a killed runner still leaves the
record of what it did (and, later, of which faults it left to revert).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runner.playbook.secrets import SecretMask

GENESIS = "0" * 64
JOURNAL_NAME = "journal.jsonl"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


class Journal:
    """Appends events to `journal.jsonl`; safe to call from many threads."""

    def __init__(self, path: Path, mask: SecretMask) -> None:
        self.path = path
        self.mask = mask
        self._lock = threading.Lock()
        self._seq = 0
        self._prev = GENESIS
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    @classmethod
    def resume(cls, path: Path, mask: SecretMask) -> Journal:
        """Continue an existing journal (e.g. `drillctl recover` after a crash).

        A torn last line (the runner died mid-write) is cut off first, so the chain
        stays verifiable; the events after it say what happened.
        """
        data = path.read_bytes()
        keep = data if data.endswith(b"\n") or not data else data[: data.rfind(b"\n") + 1]
        if keep != data:
            with path.open("r+b") as f:
                f.truncate(len(keep))
                os.fsync(f.fileno())
        journal = cls(path, mask)
        lines = keep.splitlines()
        if lines:
            last = json.loads(lines[-1])
            journal._seq = int(last["seq"]) + 1
            journal._prev = str(last["hash"])
        return journal

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one event durably and return it as written (masked)."""
        with self._lock:
            entry: dict[str, Any] = {
                "seq": self._seq,
                "event": event,
                "time": utc_now(),
                "mono": round(time.monotonic(), 6),
                **self.mask.mask_value(fields),
                "prev": self._prev,
            }
            body = json.dumps(entry, separators=(",", ":"), default=str).encode()
            digest = line_hash(body)
            # The line carries its own hash, so a change to the last line shows too.
            line = body[:-1] + b',"hash":"' + digest.encode() + b'"}'
            os.write(self._fd, line + b"\n")
            os.fsync(self._fd)
            self._prev = digest
            self._seq += 1
            return {**entry, "hash": digest}

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    problem: str = ""
    line: int = 0


def verify_chain(path: Path) -> ChainCheck:
    """Check each line's own hash and its `prev` link to the line before it."""
    prev = GENESIS
    count = 0
    raw_lines = path.read_bytes().split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for number, raw in enumerate(raw_lines, start=1):
        try:
            entry = json.loads(raw)
        except ValueError:
            last = number == len(raw_lines)
            what = "truncated last line (the runner died mid-write)" if last else "line is not JSON"
            return ChainCheck(False, count, what, number)
        if not isinstance(entry, dict) or entry.get("prev") != prev:
            problem = "hash chain broken: a line before this one was removed or changed"
            return ChainCheck(False, count, problem, number)
        digest = str(entry.get("hash", ""))
        # A line without its hash cannot vouch for itself (else strip it, then edit freely).
        if not digest or _own_hash(raw, digest) != digest:
            return ChainCheck(
                False, count, "line changed after it was written (hash mismatch)", number
            )
        if entry.get("seq") != count:
            return ChainCheck(False, count, f"sequence gap: expected seq {count}", number)
        prev = digest
        count += 1
    if count == 0:
        return ChainCheck(False, 0, "journal is empty", 1)
    return ChainCheck(True, count)


def _own_hash(raw: bytes, digest: str) -> str:
    """SHA-256 of the line as it was before its `hash` field was appended."""
    suffix = b',"hash":"' + digest.encode() + b'"}'
    if not digest or not raw.endswith(suffix):
        return ""
    return line_hash(raw[: -len(suffix)] + b"}")


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """The journal's events, skipping a torn final line."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                return
