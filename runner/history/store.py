"""The run history: record results, list and fetch them, rebuild lost ones from journals."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from runner.errors import Diagnostic, InputError, TargetEnvironmentError
from runner.history.backends import Database, connect
from runner.history.migrations import migrate
from runner.history.quarter import Quarter
from runner.history.rows import (
    FAULT_COLUMNS,
    RUN_COLUMNS,
    SOURCE_JOURNAL,
    SOURCE_RESULT,
    STEP_COLUMNS,
    RunRow,
    StoredRun,
    fault_rows,
    flatten,
    from_db,
    step_rows,
    to_db,
    utc_now,
)

DEFAULT_HISTORY = Path("drills/history.db")

Recorded = Literal["added", "replaced", "kept"]


class RunIdCollision(InputError):
    """Two different runs under one run id: an error, never a silent replace or ignore."""

    def __init__(self, message: str) -> None:
        super().__init__([Diagnostic("<history>", 1, 1, message)])


def _insert(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


_INSERT_RUN = _insert("runs", (*RUN_COLUMNS, "result_json"))
_INSERT_STEP = _insert("steps", STEP_COLUMNS)
_INSERT_FAULT = _insert("faults", FAULT_COLUMNS)
_SELECT_RUNS = f"SELECT {', '.join(RUN_COLUMNS)} FROM runs"


class HistoryStore:
    """A run history in SQLite or PostgreSQL, at the latest schema version."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.version = migrate(db)

    @property
    def where(self) -> str:
        """Where the history lives, printable (no password)."""
        return self.db.where

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(
        self,
        result: dict[str, Any],
        run_dir: Path | None,
        *,
        plan_entry: str | None = None,
        source: str = SOURCE_RESULT,
    ) -> Recorded:
        """Store one run in one transaction: afterwards it is there whole, or not at all.

        Recording a run_id again replaces it (idempotent), except that a rebuild from the
        journal never replaces a row made from the run's own result.json, and a plan entry
        once known is kept.
        """
        with self.db.transaction():
            return self._write(result, run_dir, plan_entry, source)

    def record_many(self, results: Iterable[tuple[dict[str, Any], Path | None]]) -> int:
        """Store many runs in one transaction (bulk loads, benchmarks); returns how many."""
        count = 0
        with self.db.transaction():
            for result, run_dir in results:
                self._write(result, run_dir, None, SOURCE_RESULT)
                count += 1
        return count

    def _write(
        self, result: dict[str, Any], run_dir: Path | None, plan_entry: str | None, source: str
    ) -> Recorded:
        row = flatten(result, run_dir, source=source, plan_entry=plan_entry)
        existing = self.db.execute(
            "SELECT source, plan_entry, started_at, run_dir, voided_at, void_reason, voided_by "
            "FROM runs WHERE run_id = ?",
            (row.run_id,),
        )
        if existing:
            old_source, old_entry, old_start, old_dir, *void = existing[0]
            if old_start != row.started_at and (old_dir is None or old_dir != row.run_dir):
                # Same id, another run: replacing it would drop a run from the history.
                raise RunIdCollision(
                    f"run id {row.run_id!r} is already in the history ({self.where}) for "
                    f"another run (started {old_start or 'at an unknown time'}, evidence "
                    f"{old_dir or 'unknown'}); refusing to replace it"
                )
            if source == SOURCE_JOURNAL and old_source == SOURCE_RESULT:
                return "kept"
            if row.plan_entry is None and old_entry is not None:
                row = replace(row, plan_entry=old_entry)
            # A void is a decision about the run, not part of its evidence: re-recording keeps it.
            row = replace(row, voided_at=void[0], void_reason=void[1], voided_by=void[2])
            # Children first: the delete does not rely on ON DELETE CASCADE being enabled.
            for table in ("steps", "faults", "runs"):
                self.db.execute(f"DELETE FROM {table} WHERE run_id = ?", (row.run_id,))
        self.db.execute(_INSERT_RUN, (*to_db(row), json.dumps(result)))
        steps, faults = step_rows(result), fault_rows(result)
        if steps:
            self.db.executemany(_INSERT_STEP, steps)
        if faults:
            self.db.executemany(_INSERT_FAULT, faults)
        return "replaced" if existing else "added"

    def import_run(
        self, run_dir: Path, *, plan_entry: str | None = None
    ) -> tuple[RunRow, Recorded]:
        """Record a run directory: its result.json, or what its journal proves when that is
        missing or damaged. Raises InputError for a directory that holds neither, or whose
        journal's hash chain is broken."""
        # The rebuild brings the engine's and the measurements' modules: only an import
        # needs them, not the reports that read the history.
        from runner.history.rebuild import load_run

        loaded = load_run(run_dir)
        outcome = self.record(loaded.result, run_dir, plan_entry=plan_entry, source=loaded.source)
        stored = self.get(str(loaded.result["run_id"]))
        assert stored is not None
        return stored.row, outcome

    def runs(
        self,
        quarter: Quarter | str | None = None,
        component: str | None = None,
        *,
        plan_entry: str | None = None,
    ) -> list[RunRow]:
        """Runs, oldest first, optionally of one quarter, component or plan entry."""
        where, params = [], []
        for column, value in (
            ("quarter", None if quarter is None else str(quarter)),
            ("component", component),
            ("plan_entry", plan_entry),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = _SELECT_RUNS + (f" WHERE {' AND '.join(where)}" if where else "")
        rows = self.db.execute(sql + " ORDER BY started_at, run_id", params)
        return [from_db(r) for r in rows]

    def get(self, run_id: str) -> StoredRun | None:
        rows = self.db.execute(
            f"SELECT {', '.join(RUN_COLUMNS)}, result_json FROM runs WHERE run_id = ?", (run_id,)
        )
        if not rows:
            return None
        values = tuple(rows[0])
        return StoredRun(from_db(values[:-1]), json.loads(values[-1]))

    def void(self, run_id: str, reason: str, by: str) -> RunRow:
        """Mark a run void (listed in reports, counted nowhere); InputError if it cannot be."""
        if not reason.strip():
            raise InputError.at("<command line>", 1, 1, "--reason: say why the run is void")
        with self.db.transaction():
            rows = self.db.execute("SELECT voided_at FROM runs WHERE run_id = ?", (run_id,))
            if not rows:
                raise InputError.at("<command line>", 1, 1, f"no run {run_id!r} in {self.where}")
            if rows[0][0] is not None:
                raise InputError.at(
                    "<command line>", 1, 1, f"run {run_id!r} was already voided at {rows[0][0]}"
                )
            self.db.execute(
                "UPDATE runs SET voided_at = ?, void_reason = ?, voided_by = ? WHERE run_id = ?",
                (utc_now(), reason.strip(), by, run_id),
            )
        stored = self.get(run_id)
        assert stored is not None
        return stored.row

    def step_count(self, run_id: str) -> int:
        rows = self.db.execute("SELECT COUNT(*) FROM steps WHERE run_id = ?", (run_id,))
        return int(rows[0][0])


def open_store(url_or_path: str | Path | None = None) -> HistoryStore:
    """Open (creating and migrating as needed) a history: a SQLite path or a postgresql:// URL.

    None means `drills/history.db` under the current directory.
    """
    target = str(url_or_path) if url_or_path else str(DEFAULT_HISTORY)
    db = connect(target)
    try:
        return HistoryStore(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise TargetEnvironmentError(f"run history {target} is not usable: {exc}") from None
    except BaseException:
        db.close()
        raise
