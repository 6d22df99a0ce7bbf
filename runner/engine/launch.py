"""From a command line to a finished drill: load, plan, journal, run, write the evidence."""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from runner.connections.pool import ConnectionPool
from runner.console import TerminalView
from runner.engine.checkpoints import Checkpoints
from runner.engine.drill import DrillHooks, DrillRun
from runner.engine.interrupts import Interrupts
from runner.engine.last_run import check_unrecovered, record_end, record_start
from runner.engine.lock import InventoryLock, LockLocation
from runner.engine.outcome import DrillOutcome
from runner.engine.plan import DrillPlan, Planner
from runner.engine.safety import Permissions, check_guards
from runner.engine.variables import RunInfo
from runner.errors import InputError, TargetEnvironmentError
from runner.inventory import Inventory, implicit_localhost, load_inventory
from runner.journal import JOURNAL_NAME, Journal
from runner.playbook.loader import load_playbook
from runner.playbook.model import Playbook
from runner.playbook.secrets import SecretMask
from runner.playbook.templating import Templar
from runner.report.result_json import RunIdentity, build_result, write_json
from runner.report.writer import write_reports
from runner.yamlpos import YamlDocument

DEFAULT_RUNS_DIR = Path("drills/runs")


@dataclass(frozen=True)
class RunRequest:
    playbook: str
    inventory: str | None = None
    extra_vars: dict[str, Any] = field(default_factory=dict)
    limit: str | None = None
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    out: str | None = None
    operator: str = ""
    change_id: str = ""
    verbose: int = 0
    allow_production: bool = False
    allow_irreversible: bool = False
    confirm: tuple[str, ...] = ()
    ignore_unrecovered: bool = False


@dataclass
class Prepared:
    """A run that passed preflight: nothing has touched a target yet."""

    request: RunRequest
    playbook: Playbook
    doc: YamlDocument
    inventory: Inventory
    templar: Templar
    run: RunInfo
    plan: DrillPlan
    inventory_file: str = ""  # as given with -i, or the playbook's default; "" for localhost

    @property
    def inventory_key(self) -> str:
        """The inventory's absolute path (locks, recover), or 'localhost' for the implicit one."""
        return str(Path(self.inventory_file).resolve()) if self.inventory_file else "localhost"

    @property
    def mask(self) -> SecretMask:
        return self.templar.secrets


def new_run_id(playbook_path: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(playbook_path).stem)
    return f"{stamp}-{stem}"


def prepare(request: RunRequest, *, run_dir: Path | None = None) -> Prepared:
    """Load and plan everything; raise InputError before any side effect."""
    playbook, doc = load_playbook(request.playbook)
    inventory_path = request.inventory or playbook.inventory
    inventory = load_inventory(inventory_path) if inventory_path else implicit_localhost()
    templar = Templar(SecretMask())
    for name in playbook.secrets:
        if name in request.extra_vars:
            templar.secrets.add(request.extra_vars[name])
    run_id = run_dir.name if run_dir else new_run_id(request.playbook)
    if run_dir is None and not request.out:
        # Two runs of one playbook in the same second get distinct ids and directories.
        base, n = run_id, 1
        while (DEFAULT_RUNS_DIR / run_id).exists():
            n += 1
            run_id = f"{base}-{n}"
    run_dir = run_dir or (Path(request.out) if request.out else DEFAULT_RUNS_DIR / run_id)
    run = RunInfo(
        run_id=run_id,
        run_dir=str(run_dir.resolve()),
        operator=request.operator or _operator(),
        change_id=request.change_id,
        environment=inventory.environment or "",
    )
    known = {item.id for item in playbook.checklists}
    for item_id in request.confirm:
        if item_id not in known:
            choices = ", ".join(sorted(known)) or "none: the playbook has no checklists"
            raise InputError.at(
                "<command line>", 1, 1, f"--confirm {item_id}: no such checklist item ({choices})"
            )
    planner = Planner(playbook, doc, inventory, templar, run, request.extra_vars)
    plan = planner.plan(limit=request.limit, tags=request.tags, skip_tags=request.skip_tags)
    return Prepared(request, playbook, doc, inventory, templar, run, plan, inventory_path or "")


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def execute(prepared: Prepared, view: TerminalView) -> tuple[DrillOutcome, Path]:
    """Run the drill and write journal.jsonl and result.json into the run directory."""
    run_dir = Path(prepared.run.run_dir)
    request = prepared.request
    check_guards(
        prepared.playbook,
        prepared.inventory,
        Permissions(request.allow_production, request.allow_irreversible, request.change_id),
        prepared.plan.all_hosts(),
    )
    lock = InventoryLock(prepared.inventory_file, prepared.run.run_id, prepared.run.operator)
    lock.acquire(prepared.run.run_dir)
    try:
        if not request.ignore_unrecovered:
            check_unrecovered(lock.location)  # a dead run's faults still in effect: exit 3
        return _execute_locked(prepared, view, run_dir, lock.location)
    finally:
        lock.release()


def _execute_locked(
    prepared: Prepared, view: TerminalView, run_dir: Path, location: LockLocation
) -> tuple[DrillOutcome, Path]:
    pool = ConnectionPool()
    hosts = prepared.plan.all_hosts()
    pool.check_supported(hosts)
    pool.open_all(hosts, prepared.playbook.forks)
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        if any(run_dir.iterdir()):
            raise InputError.at(
                str(run_dir), 1, 1, "run directory exists and is not empty"
            ) from None
    except OSError as exc:
        raise TargetEnvironmentError(f"cannot create run directory {run_dir}: {exc}") from None
    journal = Journal(run_dir / JOURNAL_NAME, prepared.mask)
    interrupts = Interrupts(view.notice)
    hooks = DrillHooks(
        phase_started=view.phase_started,
        phase_skipped=view.phase_skipped,
        step_started=view.step_started,
        host_done=view.host_done,
        notice=view.notice,
    )
    pb = prepared.playbook
    journal.record(
        "run_started",
        run_id=prepared.run.run_id,
        drill=pb.drill,
        component=pb.component,
        playbook=pb.path,
        inventory=prepared.inventory.path,
        # Absolute, so `drillctl recover` finds the hosts from any directory.
        inventory_path=prepared.inventory_key if prepared.inventory_file else "",
        pid=os.getpid(),
        operator=prepared.run.operator,
        change_id=prepared.run.change_id,
        environment=prepared.run.environment,
        rollback_type=pb.rollback_type,
        hosts=[h.name for h in prepared.plan.all_hosts()],
    )
    # Before any step: if this run dies, the next one on this inventory finds its journal.
    record_start(location, prepared.run.run_dir, prepared.run.run_id, prepared.run.operator)
    view.run_started(pb.drill, len(prepared.plan.all_hosts()), str(run_dir))
    interrupts.install()
    try:
        checkpoints = Checkpoints(
            pb.checklists, journal, prepared.run.operator, prepared.request.confirm
        )
        drill = DrillRun(
            prepared.plan,
            prepared.templar,
            journal,
            pool,
            interrupts,
            hooks,
            prepared.request.extra_vars,
            checkpoints,
        )
        outcome = drill.run()
    finally:
        interrupts.uninstall()
        view.close()
        pool.close_all()
    ident = RunIdentity(
        prepared.run.run_id,
        prepared.run.environment,
        prepared.run.operator,
        prepared.run.change_id,
        prepared.inventory.path,
    )
    result = build_result(pb, outcome, ident)
    write_json(run_dir / "result.json", result, prepared.mask)
    write_reports(run_dir, result, prepared.mask)
    # An interrupted run's journal ends with `interrupted`, so a reader sees it last.
    final = "interrupted" if outcome.status == "interrupted" else "run_finished"
    journal.record(
        final, status=outcome.status, reason=outcome.reason, signal=outcome.interrupted_by
    )
    journal.close()
    record_end(location, prepared.run.run_dir)
    return outcome, run_dir
