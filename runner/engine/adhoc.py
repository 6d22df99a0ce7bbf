"""`drillctl exec`: one command across matching targets, as `ansible PATTERN -m shell`.

It obeys the same guards as a drill: a production host needs --allow-production and
--change-id (exit 2 otherwise), and it holds the inventory lock while it runs, so it never
lands in the middle of someone's drill (exit 3, naming the holder). It does not refuse an
inventory whose last drill left faults: by-hand repair is what exec may be for.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TextIO

from runner.connections.base import CancelToken, CommandSpec
from runner.connections.pool import ConnectionPool, HostUnreachable
from runner.engine.lock import InventoryLock
from runner.engine.resources import ensure_descriptors
from runner.engine.safety import Permissions, check_production
from runner.errors import ExitCode, InputError
from runner.inventory import Inventory, PatternError, load_inventory
from runner.inventory.defaults import ConnectionDefaults, apply_defaults
from runner.inventory.model import Host
from runner.inventory.patterns import select_hosts
from runner.secrets import CONNECTION_SECRETS, SecretMask
from runner.vault import reveal


@dataclass(frozen=True)
class AdhocResult:
    host: str
    status: str  # ok | failed | unreachable
    rc: int | None
    stdout: str
    stderr: str
    duration_s: float


def select(inventory: Inventory, pattern: str, limit: str | None) -> list[Host]:
    try:
        hosts = select_hosts(inventory, pattern)
        if limit:
            allowed = {h.name for h in select_hosts(inventory, limit)}
            hosts = [h for h in hosts if h.name in allowed]
    except PatternError as exc:
        raise InputError.at("<command line>", 1, 1, str(exc)) from None
    if not hosts:
        raise InputError.at("<command line>", 1, 1, f"pattern {pattern!r} matches no host")
    unusable = inventory.problems_of(hosts)
    if unusable:
        raise InputError(unusable)
    return hosts


@dataclass(frozen=True)
class ExecRequest:
    inventories: tuple[str, ...]  # the `-i` sources, merged in order
    pattern: str
    command: str
    limit: str | None = None
    forks: int = 10
    timeout: float | None = None
    operator: str = ""
    permissions: Permissions = field(default_factory=Permissions)
    defaults: ConnectionDefaults = field(default_factory=ConnectionDefaults)


def exec_guarded(request: ExecRequest, out: TextIO = sys.stdout) -> int:
    """Guards first (production, then the lock of every source), then the command; the
    locks are freed after."""
    if not request.inventories:
        raise InputError.at("<command line>", 1, 1, "exec needs an inventory: give -i INV")
    inventory = apply_defaults(load_inventory(list(request.inventories)), request.defaults)
    hosts = select(inventory, request.pattern, request.limit)
    for warning in inventory.warnings_of(hosts):
        print(warning.as_warning(), file=sys.stderr)
    check_production(inventory, hosts, request.permissions)
    run_id = f"exec-{os.getpid()}"
    locks = [
        InventoryLock(source, run_id, request.operator, command="exec")
        for source in dict.fromkeys(request.inventories)
    ]
    held: list[InventoryLock] = []
    try:
        for lock in locks:
            lock.acquire()
            held.append(lock)
        return run_adhoc(
            hosts, request.command, forks=request.forks, timeout=request.timeout, out=out
        )
    finally:
        for lock in reversed(held):
            lock.release()


def run_adhoc(
    hosts: list[Host], command: str, *, forks: int, timeout: float | None, out: TextIO = sys.stdout
) -> int:
    """Run `command` on every host, printing each result as it finishes; return the exit code."""
    mask = host_secrets(hosts)
    pool = ConnectionPool()
    pool.check_supported(hosts)
    ensure_descriptors(hosts, forks)
    cancel = CancelToken()
    try:
        pool.open_all(hosts, forks)  # host-key problems stop everything here (exit 3)
        with ThreadPoolExecutor(max_workers=max(1, forks)) as executor:
            futures = [executor.submit(_one, pool, h, command, timeout, cancel) for h in hosts]
            results = []
            try:
                for future in as_completed(futures):
                    result = future.result()
                    results.append(result)
                    _print(result, out, mask)
            except KeyboardInterrupt:
                cancel.cancel()  # before the pool waits for its workers: they stop now
                raise
    except KeyboardInterrupt:
        cancel.cancel()
        return ExitCode.INTERRUPTED
    finally:
        pool.close_all()
    if any(r.status == "unreachable" for r in results):
        return ExitCode.ENVIRONMENT
    return ExitCode.FAILED if any(r.status == "failed" for r in results) else ExitCode.PASSED


def _one(
    pool: ConnectionPool, host: Host, command: str, timeout: float | None, cancel: CancelToken
) -> AdhocResult:
    try:
        r = pool.get(host).run(CommandSpec(shell=command), timeout=timeout, cancel=cancel)
    except HostUnreachable as exc:
        return AdhocResult(host.name, "unreachable", None, "", str(exc), 0.0)
    status = "ok" if r.rc == 0 and not r.timed_out else "failed"
    stderr = r.stderr + (f"timed out after {r.duration_s:.1f}s; killed\n" if r.timed_out else "")
    return AdhocResult(host.name, status, r.rc, r.stdout, stderr, r.duration_s)


def host_secrets(hosts: list[Host]) -> SecretMask:
    """What the hosts' inventory holds that is secret: their connection passwords and every
    vault value (opened if the vault is), to mask in what the command prints.

    A command's output can show them: a login shell's environment, a config file read back,
    or a `become` password that sudo, asking none, left on the command's standard input.
    """
    mask = SecretMask()
    for host in hosts:
        for name, value in host.vars.items():
            opened = reveal(value, mask)  # registers each vault plaintext
            if name in CONNECTION_SECRETS:
                mask.add(opened)
    return mask


def _print(result: AdhocResult, out: TextIO, mask: SecretMask) -> None:
    rc = "" if result.rc is None else f" rc={result.rc}"
    out.write(f"{result.host} | {result.status.upper()}{rc} | {result.duration_s:.2f}s\n")
    for text in (mask.mask(result.stdout), mask.mask(result.stderr)):
        if text.strip():
            out.write(text if text.endswith("\n") else text + "\n")
    out.flush()
