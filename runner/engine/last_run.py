"""The last run on an inventory, and whether its fault ledger closed (beside the lock).

A run writes the record, `closed: false`, before its first step and rewrites it when it ends;
`drillctl recover` closes it once nothing is left. The journal stays the truth: a record that
says "not closed" only sends the next run to read that run's journal, and a run whose
journal still holds faults not reverted stops the next run on the same inventory (exit 3)
until `drillctl recover RUN_DIR` has run, or the operator says `--ignore-unrecovered`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runner.engine.lock import LockLocation, open_shared, rewrite
from runner.errors import TargetEnvironmentError
from runner.faults.outstanding import pending_faults
from runner.journal import JOURNAL_NAME, read_events, utc_now


@dataclass(frozen=True)
class LastRun:
    run_dir: str
    run_id: str
    operator: str
    started: str
    inventory: str
    closed: bool


class UnrecoveredFaults(TargetEnvironmentError):
    """The last run on this inventory died with faults in effect: recover it first (exit 3)."""


def record_start(location: LockLocation, run_dir: str, run_id: str, operator: str) -> None:
    """Record a run as the last on its inventory, not closed yet (call holding the lock)."""
    _write(
        location.last_run, LastRun(run_dir, run_id, operator, utc_now(), location.inventory, False)
    )


def record_end(location: LockLocation, run_dir: str) -> None:
    """Close the record when the run's journal has no fault left (call holding the lock)."""
    last = read_last_run(location.last_run)
    if last is None or last.run_dir != run_dir or last.closed:
        return
    # A journal that cannot be read proves nothing: the record stays open, so the next run
    # stops and asks for the targets to be checked by hand.
    if _pending(Path(run_dir)) == {}:
        _write(location.last_run, LastRun(**{**asdict(last), "closed": True}))


def check_unrecovered(location: LockLocation) -> None:
    """Refuse to start while the last run on this inventory left faults (call holding the lock).

    Also finds a record under the inventory's path, for an inventory file replaced by an
    editor (a new inode) since that run.
    """
    for path in _records(location):
        last = read_last_run(path)
        if last is None:
            raise UnrecoveredFaults(
                f"the record of the last run on {location.inventory} ({path}) cannot be read; "
                "make sure no fault of that run is left, then run with --ignore-unrecovered"
            )
        if last.closed:
            continue
        pending = _pending(Path(last.run_dir))
        if pending is None:
            raise UnrecoveredFaults(
                f"the last drill on {location.inventory} (run {last.run_id} by {last.operator}, "
                f"since {last.started}) did not finish and its journal "
                f"{Path(last.run_dir) / JOURNAL_NAME} is gone: check its targets by hand, then "
                "run with --ignore-unrecovered"
            )
        if pending:
            listed = ", ".join(f"{plan.summary} on {plan.host}" for plan in pending.values())
            raise UnrecoveredFaults(
                f"the last drill on {location.inventory} (run {last.run_id} by {last.operator}, "
                f"since {last.started}) died with {len(pending)} fault(s) not reverted "
                f"({listed}); run `drillctl recover {last.run_dir}` first "
                "(or --ignore-unrecovered to run anyway)"
            )


def read_last_run(path: Path) -> LastRun | None:
    """The record at `path`, or None when it is unreadable (missing files are handled apart)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return LastRun(
            run_dir=str(data["run_dir"]),
            run_id=str(data["run_id"]),
            operator=str(data["operator"]),
            started=str(data["started"]),
            inventory=str(data["inventory"]),
            closed=data["closed"] is True,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _records(location: LockLocation) -> list[Path]:
    found = [location.last_run] if location.last_run.exists() else []
    for path in sorted(location.directory.glob("*.last.json")):
        if path == location.last_run:
            continue
        last = read_last_run(path)
        if last is not None and last.inventory == location.inventory and not last.closed:
            found.append(path)
    return found


def _pending(run_dir: Path) -> dict[str, Any] | None:
    """Faults of that run still to revert, or None when its journal is gone."""
    journal = run_dir / JOURNAL_NAME
    if not journal.is_file():
        return None
    return dict(pending_faults(list(read_events(journal))))


def _write(path: Path, last: LastRun) -> None:
    # Rewritten in place, not renamed over: in a sticky directory only the owner of a file
    # may replace it, and the next run may be another user's.
    fd = open_shared(path)
    try:
        rewrite(fd, json.dumps(asdict(last)))
    finally:
        os.close(fd)
