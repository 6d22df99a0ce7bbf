"""`drillctl recover RUN_DIR`: revert every fault a dead runner left behind.

Reads the write-ahead fault ledger from the journal: a fault whose intent was recorded
and whose revert was not is reverted now, from the plan in the journal alone. Running
it twice is harmless: the second run finds nothing pending and writes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.connections.pool import ConnectionPool
from runner.engine.ledger import revert_plan
from runner.errors import InputError
from runner.faults.base import FaultPlan
from runner.inventory import Inventory, implicit_localhost, load_inventory
from runner.inventory.defaults import ConnectionDefaults, apply_defaults
from runner.journal import JOURNAL_NAME, Journal, read_events
from runner.journal_events import Event
from runner.playbook.secrets import SecretMask


@dataclass
class RecoverReport:
    pending: list[str] = field(default_factory=list)
    reverted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # id, why, manual command


def pending_faults(events: list[dict[str, Any]]) -> dict[str, FaultPlan]:
    """Faults whose intent is journaled and whose revert is not, in injection order."""
    intents = {
        e["fault_id"]: FaultPlan.from_json(e["plan"])
        for e in events
        if e["event"] == Event.FAULT_INTENT
    }
    done = {e["fault_id"] for e in events if e["event"] == Event.FAULT_REVERTED}
    return {fid: plan for fid, plan in intents.items() if fid not in done}


def _runner_alive(started: dict[str, Any]) -> bool:
    pid = started.get("pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"runner" in cmdline or b"drillctl" in cmdline


def recover(run_dir: Path, *, force: bool = False) -> RecoverReport:
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
        return report
    inventory = _inventory(started)
    journal = Journal.resume(path, SecretMask())
    journal.record(Event.RECOVER_STARTED, pending=list(pending), pid=os.getpid())
    pool = ConnectionPool()
    try:
        for fault_id in reversed(list(pending)):  # newest first, as the runner would
            plan = pending[fault_id]
            host = inventory.hosts.get(plan.host) or implicit_localhost().hosts.get(plan.host)
            if host is None:
                why = f"host {plan.host} is not in the run's inventory"
                report.failed.append((fault_id, why, plan.manual))
                journal.record(
                    Event.FAULT_REVERT_FAILED, fault_id=fault_id, detail=why, by="recover"
                )
                continue
            result = revert_plan(plan, host, pool)
            if result.ok:
                report.reverted.append(fault_id)
                journal.record(Event.FAULT_REVERTED, fault_id=fault_id, checked=True, by="recover")
            else:
                report.failed.append((fault_id, result.detail, plan.manual))
                journal.record(
                    Event.FAULT_REVERT_FAILED,
                    fault_id=fault_id,
                    detail=result.detail,
                    manual=plan.manual,
                    by="recover",
                )
    finally:
        pool.close_all()
        journal.record(
            Event.RECOVER_FINISHED, reverted=report.reverted, failed=[f[0] for f in report.failed]
        )
        journal.close()
    return report


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
