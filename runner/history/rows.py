"""What the history keeps of a run: one flat row per run, plus its steps and faults.

The row holds the result.json fields the quarterly report and `drill status` need, so they
never parse the stored JSON; the whole result is kept beside it as text for `history show`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runner.history.quarter import Quarter

# Where a row came from: the run's own result.json, or a rebuild from its journal.
SOURCE_RESULT = "result.json"
SOURCE_JOURNAL = "journal"


@dataclass(frozen=True)
class RunRow:
    """One recorded run; a figure that was not measured is None, as in result.json."""

    run_id: str
    schema_version: int
    drill: str
    component: str | None
    playbook: str | None
    inventory: str | None
    environment: str | None
    operator: str | None
    change_id: str | None
    status: str
    reason: str | None
    started_at: str | None
    ended_at: str | None
    quarter: str | None
    duration_s: float | None
    rollback_type: int | None
    objective_rto_s: float | None
    objective_rpo_s: float | None
    budget_s: float | None
    time_to_detect_s: float | None
    time_to_decide_s: float | None
    time_to_rollback_s: float | None
    rto_s: float | None
    downtime_s: float | None
    lost_writes: int | None
    rpo_s: float | None
    verdict_rto: str | None
    verdict_rpo: str | None
    verdict_budget: str | None
    rolled_back: bool
    rollback_succeeded: bool | None
    trigger_kind: str | None
    trigger_phase: str | None
    trigger_detail: str | None
    run_dir: str | None
    plan_entry: str | None
    source: str
    recorded_at: str
    # Migration 2: a drill (rehearsal) or a real incident's rollback; and a void, with why.
    kind: str = "drill"
    voided_at: str | None = None
    void_reason: str | None = None
    voided_by: str | None = None
    journal_head: str | None = None  # the journal's head hash (migration 3)

    @property
    def voided(self) -> bool:
        return self.voided_at is not None


# Run kinds: a drill rehearses a rollback; an incident is a real one, run with drillctl.
DRILL, INCIDENT = "drill", "incident"
KINDS = (DRILL, INCIDENT)

# Column order of the `runs` table (migrations 1, 2 and 3), then the full JSON as its last
# column.
RUN_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RunRow))
_BOOL_COLUMNS = frozenset({"rolled_back", "rollback_succeeded"})
STEP_COLUMNS = (
    "run_id", "idx", "phase", "name", "action", "host", "status", "started_at", "duration_s",
    "rc", "attempts",
)  # fmt: skip
FAULT_COLUMNS = (
    "run_id", "idx", "kind", "targets", "injected_at", "reverted_at", "revert_failed",
)  # fmt: skip


@dataclass(frozen=True)
class StoredRun:
    """A run as `history show` gives it back: the row and the full result."""

    row: RunRow
    result: dict[str, Any]


class BadResult(ValueError):
    """A result document without the fields every run has (run_id, drill, status)."""


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _block(result: dict[str, Any], key: str) -> dict[str, Any]:
    value = result.get(key)
    return value if isinstance(value, dict) else {}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def flatten(
    result: dict[str, Any],
    run_dir: Path | None,
    *,
    source: str = SOURCE_RESULT,
    plan_entry: str | None = None,
) -> RunRow:
    """The row of one result.json; BadResult when it lacks what identifies a run."""
    run_id, drill, status = result.get("run_id"), result.get("drill"), result.get("status")
    if not (isinstance(run_id, str) and run_id and isinstance(status, str) and status):
        raise BadResult("not a drill result: it needs a run_id and a status")
    measured, verdicts = _block(result, "measured"), _block(result, "verdicts")
    objectives, trigger = _block(result, "objectives"), _block(result, "trigger")
    started_at = _str(result.get("started_at"))
    quarter = Quarter.of_timestamp(started_at)
    return RunRow(
        run_id=run_id,
        schema_version=_int(result.get("schema_version")) or 1,
        drill=str(drill or ""),
        component=_str(result.get("component")),
        playbook=_str(result.get("playbook")),
        inventory=_str(result.get("inventory")),
        environment=_str(result.get("environment")),
        operator=_str(result.get("operator")),
        change_id=_str(result.get("change_id")),
        status=status,
        reason=_str(result.get("reason")),
        started_at=started_at,
        ended_at=_str(result.get("ended_at")),
        quarter=None if quarter is None else str(quarter),
        duration_s=_num(result.get("duration_s")),
        rollback_type=_int(result.get("rollback_type")),
        objective_rto_s=_num(objectives.get("rto_s")),
        objective_rpo_s=_num(objectives.get("rpo_s")),
        budget_s=_num(result.get("budget_s")),
        time_to_detect_s=_num(measured.get("time_to_detect_s")),
        time_to_decide_s=_num(measured.get("time_to_decide_s")),
        time_to_rollback_s=_num(measured.get("time_to_rollback_s")),
        rto_s=_num(measured.get("rto_s")),
        downtime_s=_num(measured.get("downtime_s")),
        lost_writes=_int(measured.get("lost_writes")),
        rpo_s=_num(measured.get("rpo_s")),
        verdict_rto=_str(verdicts.get("rto")),
        verdict_rpo=_str(verdicts.get("rpo")),
        verdict_budget=_str(verdicts.get("budget")),
        rolled_back=result.get("rolled_back") is True,
        rollback_succeeded=_bool(result.get("rollback_succeeded")),
        trigger_kind=_str(trigger.get("kind")),
        trigger_phase=_str(trigger.get("phase")),
        trigger_detail=_str(trigger.get("detail")),
        run_dir=None if run_dir is None else str(Path(run_dir).resolve()),
        # The entry the run itself recorded (`drill run`), unless the caller names one.
        plan_entry=plan_entry or _str(result.get("plan_entry")),
        source=source,
        recorded_at=utc_now(),
        kind=result["kind"] if result.get("kind") in KINDS else DRILL,
        journal_head=_journal_head(result),
    )


def _journal_head(result: dict[str, Any]) -> str | None:
    """The journal's head hash result.json records (provenance.journal.head), if any."""
    journal = _block(_block(result, "provenance"), "journal")
    return _str(journal.get("head"))


def step_rows(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    steps = result.get("steps")
    run_id = result["run_id"]
    return [
        (
            run_id,
            i,
            _str(s.get("phase")),
            _str(s.get("name")),
            _str(s.get("action")),
            _str(s.get("host")),
            _str(s.get("status")),
            _str(s.get("started_at")),
            _num(s.get("duration_s")),
            _int(s.get("rc")),
            _int(s.get("attempts")),
        )
        for i, s in enumerate(steps if isinstance(steps, list) else [])
        if isinstance(s, dict)
    ]


def fault_rows(result: dict[str, Any]) -> list[tuple[Any, ...]]:
    faults = result.get("faults")
    run_id = result["run_id"]
    return [
        (
            run_id,
            i,
            _str(f.get("kind")),
            json.dumps(f.get("targets") or []),
            _str(f.get("injected_at")),
            _str(f.get("reverted_at")),
            1 if f.get("revert_failed") is True else 0,
        )
        for i, f in enumerate(faults if isinstance(faults, list) else [])
        if isinstance(f, dict)
    ]


def to_db(row: RunRow) -> tuple[Any, ...]:
    """The row's values in RUN_COLUMNS order; booleans as 0/1 so both databases agree."""
    values = []
    for name in RUN_COLUMNS:
        value = getattr(row, name)
        values.append(int(value) if name in _BOOL_COLUMNS and value is not None else value)
    return tuple(values)


# Positions in RUN_COLUMNS of the columns read back as bool, and as float (the `_s` figures).
_BOOL_AT = tuple(i for i, name in enumerate(RUN_COLUMNS) if name in _BOOL_COLUMNS)
_FLOAT_AT = tuple(i for i, name in enumerate(RUN_COLUMNS) if name.endswith("_s"))


def from_db(values: Sequence[Any]) -> RunRow:
    """A row read back (RUN_COLUMNS order).

    A quarterly report reads tens of thousands of rows: the values are converted in place by
    position and the row built positionally, with no dict per row.
    """
    if len(values) != len(RUN_COLUMNS):
        raise ValueError(f"a runs row has {len(RUN_COLUMNS)} columns, got {len(values)}")
    data = list(values)
    for i in _BOOL_AT:
        if data[i] is not None:
            data[i] = bool(data[i])
    for i in _FLOAT_AT:
        # PostgreSQL may hand back Decimal or int where SQLite gives float; make them agree.
        value = data[i]
        if value is not None and type(value) is not float:
            data[i] = float(value)
    return RunRow(*data)
