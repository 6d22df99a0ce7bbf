"""The run journal: append-only JSONL, each line hash-chained to the last, group-committed.

Written as things happen, never built in memory, so a killed runner still leaves the
record of what it did (and, later, of which faults it left to revert). Every line reaches
the file when it is recorded; `fsync` is batched (group commit), except that the events
written ahead of what they announce (`DURABLE_EVENTS`: a fault's intent, the final event,
...) return only once they are on disk.
"""

from __future__ import annotations

import errno
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

from runner.journal_events import DURABLE_EVENTS, Event
from runner.secrets import SecretMask

GENESIS = "0" * 64
JOURNAL_NAME = "journal.jsonl"
# How long a line that no durable event follows may stay in the page cache only: what a
# power loss (not a killed runner: the file has every line at once) can cost.
FLUSH_INTERVAL_S = 0.1


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


class Journal:
    """Appends events to `journal.jsonl`; safe to call from many threads.

    Lines are written in order under a short lock (the hash chain needs the order); no
    writer waits for a disk flush unless its event is durable. Then it waits for one
    `fsync` that covers its line and every line written before it, whoever issues it: a
    background flusher every `flush_interval_s`, another durable writer, or itself.
    """

    def __init__(
        self, path: Path, mask: SecretMask, flush_interval_s: float = FLUSH_INTERVAL_S
    ) -> None:
        self.path = path
        self.mask = mask
        self.flush_interval_s = flush_interval_s
        self._lock = threading.Lock()  # the order of lines: seq, prev, the write
        self._sync_lock = threading.Lock()  # one fsync at a time (taken before _lock)
        self._seq = 0
        self._prev = GENESIS
        self._synced = 0  # lines known to be on disk
        self._sync_error: OSError | None = None
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
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
            journal._synced = journal._seq  # read back from the file: on disk or cut above
        return journal

    def record(self, event: Event | str, **fields: Any) -> dict[str, Any]:
        """Write one event and return it as written (masked).

        A durable event (`DURABLE_EVENTS`) returns only after an fsync covers its line;
        any other returns once the line is in the file, and reaches the disk within
        `flush_interval_s`. Raises OSError when the line cannot be written or synced, and
        once the journal is closed.
        """
        masked = self.mask.mask_value(fields)
        with self._lock:
            if self._fd < 0:
                raise OSError(errno.EBADF, f"the journal {self.path} is closed")
            entry: dict[str, Any] = {
                "seq": self._seq,
                "event": event,
                "time": utc_now(),
                "mono": round(time.monotonic(), 6),
                **masked,
                "prev": self._prev,
            }
            body = json.dumps(entry, separators=(",", ":"), default=str).encode()
            digest = line_hash(body)
            # The line carries its own hash, so a change to the last line shows too.
            line = body[:-1] + b',"hash":"' + digest.encode() + b'"}'
            os.write(self._fd, line + b"\n")
            self._prev = digest
            self._seq += 1
            written = self._seq
            if self._flusher is None:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="journal-flusher", daemon=True
                )
                self._flusher.start()
        if str(event) in DURABLE_EVENTS:
            self._sync_to(written)
        return {**entry, "hash": digest}

    def _sync_to(self, lines: int) -> None:
        """Return once the first `lines` lines are on disk (one fsync covers them all)."""
        with self._sync_lock:
            self._raise_sync_error()
            if self._synced >= lines:
                return  # another writer's fsync, issued after our write, covered it
            with self._lock:
                fd, target = self._fd, self._seq
            if fd < 0:
                raise OSError(errno.EBADF, f"the journal {self.path} is closed")
            try:
                os.fsync(fd)
            except OSError as exc:
                # After a failed fsync the kernel may drop the dirty pages and report success
                # next time: the journal can no longer promise anything.
                self._sync_error = exc
                raise
            self._synced = target

    def _raise_sync_error(self) -> None:
        if self._sync_error is not None:
            exc = self._sync_error
            raise OSError(exc.errno, f"syncing the journal {self.path} failed: {exc.strerror}")

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                with self._lock:
                    pending = self._seq
                if self._synced < pending:
                    self._sync_to(pending)
            except OSError:
                return  # kept in _sync_error: the next durable event and close() raise it

    @property
    def head(self) -> str:
        """The hash of the last line written (GENESIS before the first)."""
        with self._lock:
            return self._prev

    @property
    def events(self) -> int:
        with self._lock:
            return self._seq

    def close(self) -> None:
        """Stop the flusher, sync every line written and close; raises if a sync failed."""
        self._stop.set()
        flusher = self._flusher
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join()
        with self._sync_lock, self._lock:
            if self._fd < 0:
                return
            try:
                if self._sync_error is None and self._synced < self._seq:
                    os.fsync(self._fd)
                    self._synced = self._seq
            except OSError as exc:
                self._sync_error = exc
            finally:
                os.close(self._fd)
                self._fd = -1
            self._raise_sync_error()


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    problem: str = ""
    line: int = 0
    head: str = ""  # the last verified line's hash


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
    return ChainCheck(True, count, head=prev)


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
