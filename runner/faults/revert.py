"""Taking a fault back on its target: the revert's operations, then the fault's own check,
tried until the fault is gone or the tries run out, and what an operator runs by hand when
they do. Never cancelled: a revert interrupted half-way is what this tool exists to prevent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from runner.connections.base import CancelToken
from runner.connections.pool import ConnectionPool
from runner.faults.base import FaultPlan
from runner.faults.ops import OP_TIMEOUT_S, run_op
from runner.inventory.model import Host
from runner.secrets import cut_tail

REVERT_ATTEMPTS = 3
RETRY_DELAY_S = 0.2
MAX_RETRY_DELAY_S = 2.0
# What one operation may take beyond its own timeout: reconnecting to the host first.
OP_ALLOWANCE_S = 60.0
# Exit codes that say a check could not run at all, not that the fault is gone: a timeout,
# the docker engine failing, a shell that cannot run the check, a dropped connection.
_CHECK_COULD_NOT_RUN = frozenset({124, 125, 126, 127, 255})


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
