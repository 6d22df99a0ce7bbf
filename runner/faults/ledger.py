"""The fault ledger: write-ahead records of every fault, and the reverts that must follow.

Before a fault is injected, the journal records its plan, revert included. After the
revert, it records that the fault was reverted and checked. Whatever happens in
between (a failed step, Ctrl-C, kill -9), `drillctl recover` can finish the job from
the journal alone.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runner.connections.base import CancelToken
from runner.connections.pool import ConnectionPool
from runner.faults.base import FaultPlan, FaultUnsupported
from runner.faults.ops import run_op
from runner.faults.revert import Convergence, by_hand, revert_bound_s, revert_plan
from runner.inventory.model import Host
from runner.journal import Journal, utc_now
from runner.journal_events import Event


@dataclass
class FaultRecord:
    """One fault instance, as the result and the reports show it."""

    fault_id: str
    plan: FaultPlan
    injected_at: str = ""
    injected_mono: float | None = None
    reverted_at: str = ""
    revert_failed: bool = False
    notes: list[str] = field(default_factory=list)


class FaultLedger:
    """Active faults of a run; thread-safe (duration timers revert from their own threads)."""

    def __init__(
        self,
        journal: Journal,
        pool: ConnectionPool,
        hosts: Mapping[str, Host],
        notify: Callable[[str], None],
    ) -> None:
        self.journal = journal
        self.pool = pool
        self.hosts = dict(hosts)
        self.notify = notify
        self.records: list[FaultRecord] = []
        self._active: dict[str, FaultRecord] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._lock = threading.Lock()
        # Reverts under way (a duration's timer runs one in its own thread), with the instant
        # each must have ended by: the drill must not go on to its rollback, nor end, while
        # a fault may still be in effect, and must not wait past that instant either.
        self._reverting: dict[str, tuple[FaultRecord, float]] = {}
        self._reverted = threading.Condition(self._lock)
        self._overdue: set[str] = set()  # reverts reported as running past their bound
        self._count = 0

    def next_id(self) -> str:
        with self._lock:
            self._count += 1
            # Unique across runs too: tokens name backup files and markers on the targets.
            return f"f{self._count}-{secrets.token_hex(4)}"

    def inject(self, plan: FaultPlan, fault_id: str) -> FaultRecord:
        """Precheck, journal the intent, inject; on a failed inject, revert at once.

        Raises FaultUnsupported when the precheck says the target cannot carry the fault
        (nothing has changed then).
        """
        host = self.hosts[plan.host]
        if plan.precheck is not None:
            pre = run_op(plan.precheck, host, self.pool, CancelToken())
            if pre.rc != 0:
                detail = self.journal.mask.tail((pre.stderr or pre.stdout).strip(), 300)
                raise FaultUnsupported(f"host {plan.host}: {plan.precheck_error} ({detail})")
        record = FaultRecord(fault_id, plan)
        self.journal.record(
            Event.FAULT_INTENT,
            fault_id=fault_id,
            host=plan.host,
            kind=plan.kind,
            summary=plan.summary,
            plan=plan.to_json(),
        )
        with self._lock:
            self.records.append(record)
            self._active[fault_id] = record
        for op in plan.inject:
            result = run_op(op, host, self.pool, CancelToken())
            if result.rc != 0:
                reason = (
                    f"inject failed: {op.display()}: rc {result.rc} "
                    f"{self.journal.mask.tail(result.stderr.strip(), 300)}"
                )
                self.journal.record(Event.FAULT_INJECT_FAILED, fault_id=fault_id, reason=reason)
                # An operation stopped at its timeout may still be landing on the target:
                # the revert then checks again once it can have landed.
                settle = plan.settle_s if result.timed_out else 0.0
                self.revert(fault_id, "inject failed", Convergence(settle_s=settle))
                raise FaultInjectError(reason)
        record.injected_at, record.injected_mono = utc_now(), time.monotonic()
        in_effect = None
        if plan.check is not None:
            in_effect = run_op(plan.check, host, self.pool, CancelToken()).rc == 0
        self.journal.record(
            Event.FAULT_INJECTED,
            fault_id=fault_id,
            host=plan.host,
            kind=plan.kind,
            in_effect=in_effect,
            # The instant taken before the check ran: the one result.json reports, so a
            # result rebuilt from the journal says the same.
            injected_at=record.injected_at,
        )
        if plan.duration_s is not None:
            timer = threading.Timer(plan.duration_s, self.revert, (fault_id, "duration elapsed"))
            timer.daemon = True
            with self._lock:
                self._timers[fault_id] = timer
            timer.start()
        return record

    def revert(self, fault_id: str, reason: str, how: Convergence | None = None) -> bool:
        """Revert one fault once (later calls are no-ops); True when it is gone."""
        with self._lock:
            record = self._active.pop(fault_id, None)
            timer = self._timers.pop(fault_id, None)
            if record is not None:
                bound = revert_bound_s(record.plan, how or Convergence())
                self._reverting[fault_id] = (record, time.monotonic() + bound)
        if timer is not None:
            timer.cancel()
        if record is None:
            return True
        try:
            return self._revert(fault_id, record, reason, how)
        except OSError:
            with self._lock:
                late = fault_id in self._overdue
            if not late:
                raise
            # The run already reported this fault as possibly in effect and may have closed
            # its journal since: the late end of its revert has nowhere to go, and changes
            # nothing in what the run said.
            return False
        finally:
            with self._lock:
                self._reverting.pop(fault_id, None)
                self._reverted.notify_all()

    def _revert(
        self, fault_id: str, record: FaultRecord, reason: str, how: Convergence | None
    ) -> bool:
        self.journal.record(Event.FAULT_REVERT_STARTED, fault_id=fault_id, reason=reason)
        result = revert_plan(
            record.plan, self.hosts[record.plan.host], self.pool, how or Convergence()
        )
        if result.ok:
            with self._lock:
                # Reported as possibly in effect already: the drill went on without it, so
                # its end, however it went, does not make the fault one that was reverted in
                # time (a rebuild from the journal reads `late` the same way).
                late = fault_id in self._overdue
            record.reverted_at = utc_now()
            self.journal.record(
                Event.FAULT_REVERTED,
                fault_id=fault_id,
                checked=True,
                detail=result.detail,
                # The instant result.json reports, so a result rebuilt from the journal
                # says the same (the event's own stamp is taken a moment later).
                reverted_at=record.reverted_at,
                **({"late": True} if late else {}),
            )
            return not late
        record.revert_failed = True
        record.notes.append(result.detail)
        manual = by_hand(record.plan)
        self.journal.record(
            Event.FAULT_REVERT_FAILED, fault_id=fault_id, detail=result.detail, manual=manual
        )
        self.notify(
            f"FAULT NOT REVERTED on {record.plan.host}: {record.plan.summary}: {result.detail}. "
            f"Run by hand: {manual}"
        )
        return False

    def revert_all(self, reason: str) -> bool:
        """Revert every active fault, newest first; True when all are gone."""
        with self._lock:
            pending = list(reversed(self._active))
        ok = True
        for fault_id in pending:
            ok = self.revert(fault_id, reason) and ok
        # A timer's revert that began before this call is not in `pending`: its fault may
        # still be in effect, so wait for it, until the instant its revert must have ended.
        return self._await_reverts() and ok

    def _await_reverts(self) -> bool:
        """Wait for the reverts under way; False when one is still running past its bound."""
        with self._lock:
            while self._reverting:
                left = max(until for _, until in self._reverting.values()) - time.monotonic()
                if left <= 0:
                    break
                self._reverted.wait(left)
            overdue = list(self._reverting.items())
            unreported = [(f, r) for f, (r, _) in overdue if f not in self._overdue]
            self._overdue.update(f for f, _ in unreported)
        for fault_id, record in unreported:
            self._report_overdue(fault_id, record)
        return not overdue

    def _report_overdue(self, fault_id: str, record: FaultRecord) -> None:
        """A revert that has not ended by its bound: the fault may still be in effect."""
        detail = "its revert was still running past the longest it can take; it may be in effect"
        record.revert_failed = True
        record.notes.append(detail)
        manual = by_hand(record.plan)
        self.journal.record(
            Event.FAULT_REVERT_FAILED, fault_id=fault_id, detail=detail, manual=manual
        )
        self.notify(
            f"FAULT MAY BE IN EFFECT on {record.plan.host}: {record.plan.summary}: {detail}. "
            f"Check it, and if needed run by hand: {manual}"
        )

    def wait_for_durations(self, cancel: CancelToken) -> None:
        """Wait until every fault with a duration has been reverted by its timer, its
        revert finished and checked (or run past its bound: `revert_all` reports that)."""
        while not cancel.cancelled:
            with self._lock:
                now = time.monotonic()
                if not self._timers and all(u <= now for _, u in self._reverting.values()):
                    return
            cancel.wait(0.05)

    @property
    def active_count(self) -> int:
        with self._lock:
            return len(self._active)

    @property
    def any_revert_failed(self) -> bool:
        return any(r.revert_failed for r in self.records)


class FaultInjectError(Exception):
    """Inject failed part-way; the fault was reverted."""
