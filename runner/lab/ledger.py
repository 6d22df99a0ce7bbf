"""The lab service's durable ledger: a write is acknowledged only after its commit."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from runner.lab.truth import Loss, Record


class Ledger:
    """Sequence numbers written by the RPO probe; each is committed before it is acknowledged.

    Each record keeps `written_at` (wall time, before the commit) and `acked_at`: the
    `time.monotonic()` at which the commit was on disk and the acknowledgement went out. The
    ack time is known only once the commit is over (an fsync takes from 1 ms to tens of ms
    here, too much jitter for a ground truth), so it reaches the file with the ledger's next
    transaction, at no extra fsync; a service killed with SIGKILL leaves its last record
    without one (NULL), and records written before the column existed have none either.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # One writer at a time inside this process; other processes wait on SQLite's own lock.
        self._lock = threading.Lock()
        self._unstored_acks: dict[int, float] = {}  # seq -> ack time, guarded by _lock
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._session() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS ledger "
                "(seq INTEGER PRIMARY KEY, written_at REAL, acked_at REAL)"
            )
            columns = {row[1] for row in conn.execute("PRAGMA table_info(ledger)")}
            if "acked_at" not in columns:
                # A ledger from before ack times were kept: its old records have none (NULL).
                conn.execute("ALTER TABLE ledger ADD COLUMN acked_at REAL")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # A connection per request: handler threads never share one, and a ledger file that a
        # drill restores from backup is picked up on the next request.
        with self._lock, closing(sqlite3.connect(self.path, timeout=5.0)) as conn:
            # FULL: the commit is on disk before we answer, so an ack survives power loss.
            conn.execute("PRAGMA synchronous=FULL")
            yield conn

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        """One transaction on `conn` (whose lock we hold) that also stores unstored ack times."""
        with conn:
            if self._unstored_acks:
                conn.executemany(
                    "UPDATE ledger SET acked_at = ? WHERE seq = ?",
                    [(acked_at, seq) for seq, acked_at in self._unstored_acks.items()],
                )
            yield
        self._unstored_acks.clear()

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn, self._transaction(conn):
            yield conn

    def write(self, seq: int) -> bool:
        """Insert `seq` durably; False when it was already there."""
        with self._connection() as conn:
            with self._transaction(conn):
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO ledger (seq, written_at) VALUES (?, ?)",
                    (seq, time.time()),
                )
            inserted = cursor.rowcount == 1
            if inserted:
                # Committed and on disk: from here the answer only has to be sent. Still
                # under the lock, so `lose` never finds this record without its ack time.
                self._unstored_acks[seq] = time.monotonic()
        return inserted

    def seqs(self) -> list[int]:
        with self._connection() as conn:
            return [row[0] for row in conn.execute("SELECT seq FROM ledger ORDER BY seq")]

    def store_acks(self) -> None:
        """Write the ack times not in the file yet (on shutdown)."""
        with self._session():
            pass

    def lose(self, count: int) -> Loss:
        """Delete the `count` newest acknowledged records (by ack time) in one transaction."""
        newest = "SELECT seq, acked_at FROM ledger WHERE acked_at IS NOT NULL "
        newest += "ORDER BY acked_at DESC, seq DESC LIMIT ?"
        with self._session() as conn:
            lost = conn.execute(newest, (count,)).fetchall()
            conn.executemany("DELETE FROM ledger WHERE seq = ?", [(seq,) for seq, _ in lost])
            survivor = conn.execute(newest, (1,)).fetchone()
        return Loss(
            requested=count,
            at_mono=time.monotonic(),
            at_wall=time.time(),
            lost=tuple(Record(seq, acked_at) for seq, acked_at in reversed(lost)),
            newest_survivor=None if survivor is None else Record(*survivor),
        )
