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
from typing import Any

from runner.connections.base import CancelToken
from runner.connections.pool import ConnectionPool
from runner.faults.base import FaultPlan, FaultUnsupported
from runner.faults.ops import OP_TIMEOUT_S, run_op
from runner.inventory.model import Host
from runner.journal import Journal, utc_now
from runner.journal_events import Event
from runner.secrets import cut_tail

REVERT_ATTEMPTS = 3
RETRY_DELAY_S = 0.2
MAX_RETRY_DELAY_S = 2.0
# What one operation may take beyond its own timeout: reconnecting to the host first.
OP_ALLOWANCE_S = 60.0
# Exit codes that say a check could not run at all, not that the fault is gone: a timeout,
# the docker engine failing, a shell that cannot run the check, a dropped connection.
_CHECK_COULD_NOT_RUN = frozenset({124, 125, 126, 127, 255})


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


@dataclass(frozen=True)
class RevertResult:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Convergence:
    """How hard a revert tries before it says the fault is still there.

    At least `attempts` tries, and more until `deadline_s` has passed since the first.
    `settle_s` > 0: once the check says the fault is gone, wait that long and check again,
    so a fault still landing (a stop in its grace period) is caught, not reported reverted.
    """

    attempts: int = REVERT_ATTEMPTS
    deadline_s: float = 0.0
    settle_s: float = 0.0


def revert_plan(
    plan: FaultPlan, host: Host, pool: ConnectionPool, how: Convergence = Convergence()
) -> RevertResult:
    """Apply a plan's revert ops (all of them, even after one fails), then check; repeat.

    Never cancelled: a revert interrupted half-way is exactly what this tool exists to prevent.
    """
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        problems = apply_revert(plan, host, pool)
        if not problems and how.settle_s > 0:
            problems = confirm_settled(plan, host, pool, how.settle_s)
        if not problems:
            return RevertResult(True, f"reverted and checked (attempt {attempt})")
        delay = min(RETRY_DELAY_S * attempt, MAX_RETRY_DELAY_S)
        elapsed = time.monotonic() - started
        if attempt >= how.attempts and elapsed + delay > how.deadline_s:
            tries = f"{attempt} attempt{'s' if attempt > 1 else ''} in {elapsed:.1f}s"
            return RevertResult(False, f"{'; '.join(problems)} ({tries})")
        time.sleep(delay)


def revert_bound_s(plan: FaultPlan, how: Convergence) -> float:
    """The longest `revert_plan` can run: every attempt at its ops' and checks' timeouts.

    A wait on someone else's revert ends here at the latest; past it, the fault is reported
    as possibly still in effect instead of being waited on for ever.
    """
    op_s = OP_TIMEOUT_S + OP_ALLOWANCE_S
    per_attempt = (len(plan.revert) + 2) * op_s + how.settle_s + MAX_RETRY_DELAY_S
    return max(how.attempts, 1) * per_attempt + how.deadline_s


def by_hand(plan: FaultPlan) -> str:
    """What an operator runs to undo the fault when drillctl could not."""
    return plan.manual or " ; ".join(op.display() for op in plan.revert)


def check_fault(plan: FaultPlan, host: Host, pool: ConnectionPool) -> bool | None:
    """True while the fault is in effect, False once it is gone, None when the check failed."""
    if plan.check is None:
        return False
    result = run_op(plan.check, host, pool, CancelToken())
    if result.timed_out or result.cancelled or result.rc in _CHECK_COULD_NOT_RUN:
        return None
    return result.rc == 0


def apply_revert(plan: FaultPlan, host: Host, pool: ConnectionPool) -> list[str]:
    """Run every revert op (even after one fails), then the check; the problems left."""
    problems = []
    for op in plan.revert:
        result = run_op(op, host, pool, CancelToken())
        if result.rc != 0:
            problems.append(
                f"{op.display()}: rc {result.rc} {cut_tail(result.stderr.strip(), 300)}"
            )
    if problems:
        return problems
    state = check_fault(plan, host, pool)
    if state is None:
        return ["the fault's check could not run, so nothing confirms the revert"]
    return ["the check says the fault is still in effect"] if state else []


def confirm_settled(
    plan: FaultPlan, host: Host, pool: ConnectionPool, settle_s: float, *, wait: bool = True
) -> list[str]:
    """After a revert that checked out: wait `settle_s` (unless the caller did), check again."""
    if wait:
        time.sleep(settle_s)
    state = check_fault(plan, host, pool)
    if state is None:
        return ["the fault's check could not run after settling, so nothing confirms the revert"]
    if state:
        return [f"the fault was back {settle_s:g}s after its revert: it was still landing"]
    return []


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
