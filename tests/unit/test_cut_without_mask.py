"""Where output is cut before any mask sees it (a revert's error, a flag's response), the
cut keeps no piece of a secret it would halve: the mask, run later, finds a secret only whole."""

from __future__ import annotations

from runner.connections.pool import ConnectionPool
from runner.faults.base import SHELL, FaultOp, FaultPlan
from runner.faults.revert import apply_revert
from runner.inventory.model import Host
from runner.secrets import SecretMask

SECRET = "Zq9-hunter2-Xy7-token"


def test_a_failed_reverts_error_keeps_no_piece_of_a_secret_astride_the_cut() -> None:
    host = Host("h1", "localhost", "local", None, None, {}, ("all",))
    # The secret ends 291 characters from the end: a plain [-300:] would keep its last 9.
    tail = "x" * 290
    script = f"printf '%s' 'error: token {SECRET} {tail}' >&2; exit 1"
    plan = FaultPlan("custom", "h1", "a fault", (), (FaultOp(SHELL, script),))
    pool = ConnectionPool()
    try:
        problems = apply_revert(plan, host, pool)
    finally:
        pool.close_all()
    assert len(problems) == 1, problems
    kept = problems[0].split(": rc 1 ", 1)[1]  # the message names the op, then its stderr
    assert kept.endswith(tail) and len(kept) <= 300, kept
    masked = SecretMask([SECRET]).mask(kept)
    assert not any(SECRET[i : i + 4] in masked for i in range(len(SECRET) - 3)), masked
