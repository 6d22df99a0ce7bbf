"""What a run's journal leaves outstanding: faults injected and not reverted, and fault
operations that had begun and not ended when the journal stops (`drillctl recover` and the
next run's preflight read them)."""

from __future__ import annotations

from typing import Any

from runner.faults.base import FaultPlan
from runner.journal_events import Event


def pending_faults(events: list[dict[str, Any]]) -> dict[str, FaultPlan]:
    """Faults whose intent is journaled and whose revert is not, in injection order."""
    intents = {
        e["fault_id"]: FaultPlan.from_json(e["plan"])
        for e in events
        if e["event"] == Event.FAULT_INTENT
    }
    done = {e["fault_id"] for e in events if e["event"] == Event.FAULT_REVERTED}
    return {fid: plan for fid, plan in intents.items() if fid not in done}


def in_flight(events: list[dict[str, Any]]) -> list[str]:
    """Faults whose inject or revert operation had begun and not ended when the journal stops.

    The dead runner's operation may still be running on the target (a stop in its grace
    period, a process taking seconds to exit): it lands at most the plan's `settle_s` later.
    """
    ends = {
        Event.FAULT_INJECTED,
        Event.FAULT_INJECT_FAILED,
        Event.FAULT_REVERTED,
        Event.FAULT_REVERT_FAILED,
    }
    open_ops: dict[str, bool] = {}
    for e in events:
        fault_id = e.get("fault_id")
        if not isinstance(fault_id, str):
            continue
        if e["event"] in (Event.FAULT_INTENT, Event.FAULT_REVERT_STARTED):
            open_ops[fault_id] = True
        elif e["event"] in ends:
            open_ops[fault_id] = False
    return [fault_id for fault_id, is_open in open_ops.items() if is_open]
