"""`drillctl recover RUN_DIR`: revert every fault a dead runner left behind, until it holds.

Reads the write-ahead fault ledger from the journal: a fault whose intent was recorded and
whose revert was not is reverted now, from the plan in the journal alone. What counts is
the target's observed state, not what the dead runner last wrote:

- an inject or revert the runner had begun may still be landing (a container stop in its
  grace period, a process taking seconds to exit a graceful signal): recover first lets it
  land, up to the plan's `settle_s` after the journal's last event;
- after each revert whose check says the fault is gone, it waits a settle period and checks
  again, and repeats the revert until the check holds or the deadline passes; then it says
  exactly what is left and the command to run by hand.

Running it twice is harmless: the second run finds nothing pending and writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.connections.pool import ConnectionPool
from runner.errors import InputError
from runner.faults.base import FaultPlan
from runner.faults.ops import run_op
from runner.faults.outstanding import in_flight, pending_faults
from runner.faults.revert import apply_revert, by_hand, confirm_settled
from runner.faults.scripts import running_op_probe
from runner.inventory import Inventory, implicit_localhost, load_inventory
from runner.inventory.defaults import ConnectionDefaults, apply_defaults
from runner.inventory.model import Host
from runner.journal import JOURNAL_NAME, Journal, read_events
from runner.journal_events import Event
from runner.secrets import SecretMask

__all__ = ["RecoverReport", "Unreverted", "pending_faults", "recover"]

DEADLINE_S = 120.0
SETTLE_S = 1.0
RETRY_DELAY_S = 0.5
LANDING_POLL_S = 0.2


@dataclass(frozen=True)
class Unreverted:
    """A fault recover could not revert: what, where, why, and the command to run by hand."""

    fault_id: str
    host: str
    summary: str
    why: str
    manual: str


@dataclass
class RecoverReport:
    pending: list[str] = field(default_factory=list)
    reverted: list[str] = field(default_factory=list)
    failed: list[Unreverted] = field(default_factory=list)
    waited_s: float = 0.0  # letting operations the dead runner left in flight land


def _runner_alive(started: dict[str, Any]) -> bool:
    pid = started.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"runner" in cmdline or b"drillctl" in cmdline


def recover(
    run_dir: Path,
    *,
    force: bool = False,
    deadline_s: float = DEADLINE_S,
    settle_s: float = SETTLE_S,
) -> RecoverReport:
    path = run_dir / JOURNAL_NAME
    if not path.is_file():
        raise InputError.at(str(run_dir), 1, 1, "no journal.jsonl here; give a run directory")
    events = list(read_events(path))
    started = next((e for e in events if e.get("event") == Event.RUN_STARTED), None)
    if started is None:
        raise InputError.at(str(path), 1, 1, "the journal has no run_started event")
    if _runner_alive(started) and not force:
        raise InputError.at(
            str(path),
            1,
            1,
            f"the run is still going (pid {started['pid']}); stop it first, or use --force",
        )
    report = RecoverReport()
    pending = pending_faults(events)
    report.pending = list(pending)
    if not pending:
        _close_last_run(started, run_dir)
        return report
    inventory = _inventory(started)
    journal = Journal.resume(path, SecretMask())
    journal.record(Event.RECOVER_STARTED, pending=list(pending), pid=os.getpid())
    pool = ConnectionPool()
    try:
        report.waited_s = _let_in_flight_land(events, pending, inventory, pool)
        if report.waited_s:
            journal.record(Event.RECOVER_WAITED, seconds=round(report.waited_s, 3))
        _converge(pending, inventory, pool, journal, report, deadline_s, settle_s)
    finally:
        pool.close_all()
        journal.record(
            Event.RECOVER_FINISHED,
            reverted=report.reverted,
            failed=[f.fault_id for f in report.failed],
        )
        journal.close()
    if not report.failed:
        _close_last_run(started, run_dir)
    return report


def _converge(
    pending: dict[str, FaultPlan],
    inventory: Inventory,
    pool: ConnectionPool,
    journal: Journal,
    report: RecoverReport,
    deadline_s: float,
    settle_s: float,
) -> None:
    """Revert every fault (newest first), settle once, check them all again; repeat for
    those not holding until they all hold or the deadline passes (at least two rounds)."""
    deadline = time.monotonic() + deadline_s
    todo: dict[str, tuple[FaultPlan, Host]] = {}
    for fault_id in reversed(list(pending)):  # newest first, as the runner would
        plan = pending[fault_id]
        host = _host(inventory, plan)
        if host is None:
            why = f"host {plan.host} is not in the run's inventory"
            report.failed.append(_unreverted(fault_id, plan, why))
            journal.record(Event.FAULT_REVERT_FAILED, fault_id=fault_id, detail=why, by="recover")
            continue
        todo[fault_id] = (plan, host)
    problems: dict[str, list[str]] = {}
    rounds = 0
    while todo:
        rounds += 1
        problems = {f: apply_revert(plan, host, pool) for f, (plan, host) in todo.items()}
        reverted = [f for f, found in problems.items() if not found]
        if reverted and settle_s > 0:
            time.sleep(settle_s)
            for f in reverted:
                plan, host = todo[f]
                problems[f] = confirm_settled(plan, host, pool, settle_s, wait=False)
        for f in [f for f, found in problems.items() if not found]:
            report.reverted.append(f)
            detail = f"reverted and checked, again after {settle_s:g}s (round {rounds})"
            journal.record(
                Event.FAULT_REVERTED, fault_id=f, checked=True, detail=detail, by="recover"
            )
            del todo[f]
        if todo and rounds >= 2 and time.monotonic() + RETRY_DELAY_S > deadline:
            break
        if todo:
            time.sleep(RETRY_DELAY_S)
    for f, (plan, _where) in todo.items():
        why = f"{'; '.join(problems[f])} ({rounds} rounds in {deadline_s:g}s)"
        report.failed.append(_unreverted(f, plan, why))
        journal.record(
            Event.FAULT_REVERT_FAILED, fault_id=f, detail=why, manual=by_hand(plan), by="recover"
        )


def _let_in_flight_land(
    events: list[dict[str, Any]],
    pending: dict[str, FaultPlan],
    inventory: Inventory,
    pool: ConnectionPool,
) -> float:
    """Wait until no operation the dead runner had begun can still be landing.

    Such an operation began at most at the journal's last event and is bounded by its plan's
    `settle_s`. Where its process can be seen on the target, recover stops waiting as soon as
    it is gone; otherwise it waits out the bound. A recover long after the crash waits not.
    """
    flying = [pending[f] for f in in_flight(events) if f in pending]
    last = _wall(events[-1].get("time")) if events else None
    if not flying or last is None:
        return 0.0
    started = time.monotonic()
    for plan in flying:
        until = last + plan.settle_s
        probe = running_op_probe(plan)
        host = _host(inventory, plan)
        while time.time() < until:
            # Its operation has ended (or never started): nothing is left to land.
            if probe is not None and host is not None and run_op(probe, host, pool).rc == 1:
                break
            time.sleep(min(LANDING_POLL_S, max(0.0, until - time.time())))
    return time.monotonic() - started if time.monotonic() - started > 0.05 else 0.0


def _host(inventory: Inventory, plan: FaultPlan) -> Host | None:
    return inventory.hosts.get(plan.host) or implicit_localhost().hosts.get(plan.host)


def _wall(stamp: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _unreverted(fault_id: str, plan: FaultPlan, why: str) -> Unreverted:
    return Unreverted(fault_id, plan.host, plan.summary, why, by_hand(plan))


def _close_last_run(started: dict[str, Any], run_dir: Path) -> None:
    """Tell the next run on this inventory that this run's ledger is closed now."""
    from runner.engine.last_run import record_end
    from runner.engine.lock import lock_location
    from runner.errors import TargetEnvironmentError

    source = str(started.get("inventory_path") or "")
    # The inventory moved or the lock dir is gone: harmless, as the next run reads this
    # run's journal (no fault left in it) before it trusts or refuses anything.
    with contextlib.suppress(TargetEnvironmentError, OSError):
        record_end(lock_location(source), str(run_dir.resolve()))


def _inventory(started: dict[str, Any]) -> Inventory:
    """The run's hosts as the run reached them: its inventory sources, in order, with the
    connection defaults its command line gave (`-u`, `--private-key`, `-b`)."""
    sources = started.get("inventory_paths") or [started.get("inventory_path") or ""]
    files = [s for s in sources if s]
    inventory = load_inventory(files) if files else implicit_localhost()
    given = started.get("connection_defaults") or {}
    defaults = ConnectionDefaults(
        user=given.get("user"),
        private_key=given.get("private_key"),
        become=bool(given.get("become")),
        become_user=given.get("become_user"),
    )
    return apply_defaults(inventory, defaults)
