"""Where each planned drill stands this quarter, from the runs in the history.

A run counts for an entry when `drillctl drill run` recorded it under the entry, or when it
was started by hand (`drillctl run`) with the entry's playbook and inventory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from runner.history.rows import RunRow
from runner.plans.model import DrillPlan, PlanEntry

DONE, FAILED, OVERDUE, PENDING = "done", "failed", "overdue", "pending"


@dataclass(frozen=True)
class EntryStatus:
    """`state`: done (a passed run this quarter), failed (its last run failed), overdue (due
    date passed, not done) or pending. `overdue` is also set on a failed entry past due."""

    entry_id: str
    playbook: str
    owner: str
    due: date
    state: str
    overdue: bool
    runs: int
    last_run_id: str | None
    last_status: str | None


def _same_path(a: str | None, b: str) -> bool:
    return a is not None and os.path.normpath(a) == os.path.normpath(b)


def runs_of(plan: DrillPlan, entry: PlanEntry, runs: Sequence[RunRow]) -> list[RunRow]:
    """The quarter's runs that count for `entry`, oldest first."""
    key = plan.key(entry)
    return [
        r
        for r in runs
        if r.plan_entry == key
        or (
            r.plan_entry is None
            and _same_path(r.playbook, entry.playbook)
            and _same_path(r.inventory, entry.inventory)
        )
    ]


def entry_status(entry: PlanEntry, runs: Sequence[RunRow], today: date) -> EntryStatus:
    last = runs[-1] if runs else None
    done = any(r.status == "passed" for r in runs)
    overdue = not done and today > entry.due
    if done:
        state = DONE
    elif last is not None:
        state = FAILED
    else:
        state = OVERDUE if overdue else PENDING
    return EntryStatus(
        entry.id,
        entry.playbook,
        entry.owner,
        entry.due,
        state,
        overdue,
        len(runs),
        last.run_id if last else None,
        last.status if last else None,
    )


def plan_status(plan: DrillPlan, quarter_runs: Sequence[RunRow], today: date) -> list[EntryStatus]:
    """Each entry's status, given the runs of the plan's quarter (oldest first)."""
    ordered = sorted(quarter_runs, key=lambda r: (r.started_at or "", r.run_id))
    return [entry_status(e, runs_of(plan, e, ordered), today) for e in plan.entries]
