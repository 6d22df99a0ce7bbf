"""Where each planned drill stands this quarter, from the runs in the history.

An entry is done only by a passed run made under it: `drillctl drill run` records the entry in
the run itself (`--plan-entry`), and that run used the entry's playbook and inventory (compared
as resolved paths). A passed run after the due date is done, but late. A run started by hand
with the same playbook and inventory is listed as unplanned; it does not make the entry done.
Voided runs count for nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from runner.history.quarter import parse_timestamp
from runner.history.rows import DRILL, RunRow
from runner.plans.model import DrillPlan, PlanEntry

DONE, FAILED, OVERDUE, PENDING = "done", "failed", "overdue", "pending"


@dataclass(frozen=True)
class EntryStatus:
    """`state`: done (a passed run under the entry this quarter), failed (run under it, none
    passed), overdue (due date passed, not done) or pending. `overdue` is also set on a failed
    entry past due; `late` on a done entry whose first passed run came after the due date."""

    entry_id: str
    playbook: str
    owner: str
    due: date
    state: str
    overdue: bool
    runs: int
    last_run_id: str | None
    last_status: str | None
    late: bool = False
    done_by: str | None = None  # the passed run that made the entry done
    unplanned_runs: int = 0  # by hand with the entry's playbook and inventory: not counted


def resolved(path: str | None) -> str | None:
    """A path as the file system resolves it (relative to the current directory, symlinks
    followed), so `./inv.yml`, `inv.yml` and a link to it are one inventory."""
    return None if not path else os.path.realpath(path)


Resolver = Callable[[str | None], str | None]


def _resolver() -> Resolver:
    """`resolved`, asked once per distinct path: a quarter of thousands of runs names a
    handful of playbooks, and each realpath is a walk of the file system."""
    seen: dict[str | None, str | None] = {}

    def resolve(path: str | None) -> str | None:
        if path not in seen:
            seen[path] = resolved(path)
        return seen[path]

    return resolve


def _same_files(run: RunRow, entry: PlanEntry, resolve: Resolver = resolved) -> bool:
    return resolve(run.playbook) == resolve(entry.playbook) and resolve(run.inventory) == resolve(
        entry.inventory
    )


def runs_of(
    plan: DrillPlan, entry: PlanEntry, runs: Sequence[RunRow], resolve: Resolver = resolved
) -> list[RunRow]:
    """The quarter's runs that count for `entry`, oldest first: made under it, not voided."""
    key = plan.key(entry)
    return [
        r for r in runs if not r.voided and r.plan_entry == key and _same_files(r, entry, resolve)
    ]


def unplanned_runs(
    entry: PlanEntry, runs: Sequence[RunRow], resolve: Resolver = resolved
) -> list[RunRow]:
    """Drills started by hand with the entry's playbook and inventory (shown, not counted);
    a real incident's rollback is no drill at all."""
    return [
        r
        for r in runs
        if not r.voided
        and r.kind == DRILL
        and r.plan_entry is None
        and _same_files(r, entry, resolve)
    ]


def _day(run: RunRow) -> date | None:
    when = parse_timestamp(run.started_at)
    return None if when is None else when.date()


def entry_status(
    entry: PlanEntry, runs: Sequence[RunRow], today: date, unplanned: int = 0
) -> EntryStatus:
    last = runs[-1] if runs else None
    passed = [r for r in runs if r.status == "passed"]
    done_by = passed[0] if passed else None
    overdue = done_by is None and today > entry.due
    late = False
    if done_by is not None:
        state = DONE
        day = _day(done_by)
        late = day is None or day > entry.due  # a run without a start date cannot prove on time
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
        late,
        done_by.run_id if done_by else None,
        unplanned,
    )


def plan_status(plan: DrillPlan, quarter_runs: Sequence[RunRow], today: date) -> list[EntryStatus]:
    """Each entry's status, given the runs of the plan's quarter (oldest first)."""
    ordered = sorted(quarter_runs, key=lambda r: (r.started_at or "", r.run_id))
    resolve = _resolver()
    return [
        entry_status(
            e, runs_of(plan, e, ordered, resolve), today, len(unplanned_runs(e, ordered, resolve))
        )
        for e in plan.entries
    ]
