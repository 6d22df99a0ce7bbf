"""Carrying out fault operations: on the target, on the controller, or through Docker."""

from __future__ import annotations

from runner.connections.base import CancelToken, CommandResult, CommandSpec, HostUnreachable
from runner.connections.local import LocalConnection
from runner.connections.pool import ConnectionPool
from runner.faults.base import DOCKER, LOCAL, SHELL, FaultOp
from runner.inventory.model import Host

OP_TIMEOUT_S = 60.0
UNREACHABLE_RC = 255  # as ssh(1) says it: the operation never reached the target


def run_op(
    op: FaultOp, host: Host, pool: ConnectionPool, cancel: CancelToken | None = None
) -> CommandResult:
    """Run one operation; a failed op is a non-zero rc, never an exception for the caller."""
    token = cancel or CancelToken()
    if op.via == SHELL:
        try:
            conn = pool.get(host)
            return conn.run(CommandSpec(shell=op.script), timeout=OP_TIMEOUT_S, cancel=token)
        except HostUnreachable as exc:  # the op never reached the target: say so
            return CommandResult(UNREACHABLE_RC, "", f"host {host.name} unreachable: {exc}", 0.0)
        # A revert must report, never raise: the ledger still has other faults to revert.
        except Exception as exc:
            return CommandResult(UNREACHABLE_RC, "", f"host {host.name}: {exc}", 0.0)
    if op.via == LOCAL:
        return LocalConnection().run(
            CommandSpec(shell=op.script), timeout=OP_TIMEOUT_S, cancel=token
        )
    if op.via == DOCKER:
        from runner.faults.docker_ops import run_docker_op

        return run_docker_op(op, host)
    return CommandResult(2, "", f"unknown fault operation kind {op.via!r}", 0.0)
