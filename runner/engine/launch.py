"""From a command line to a finished drill: load, plan, journal, run, write the evidence."""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.connections.pool import ConnectionPool
from runner.console import TerminalView
from runner.engine.checkpoints import Checkpoints
from runner.engine.drill import DrillHooks, DrillRun
from runner.engine.interrupts import Interrupts
from runner.engine.last_run import check_unrecovered, record_end, record_start
from runner.engine.lock import InventoryLock, LockLocation
from runner.engine.notices import DrillNotices, rendered_notify, trigger_text
from runner.engine.outcome import DrillOutcome
from runner.engine.plan import DrillPlan, Planner
from runner.engine.resources import ensure_descriptors
from runner.engine.safety import Permissions, check_guards
from runner.errors import InputError, TargetEnvironmentError
from runner.inventory import Inventory, implicit_localhost, load_inventory
from runner.inventory.defaults import ConnectionDefaults, apply_defaults
from runner.inventory.environments import strictest_environment
from runner.journal import JOURNAL_NAME, Journal
from runner.journal_events import Event
from runner.notify.plan import NotifyPlan
from runner.playbook.loader import load_playbook
from runner.playbook.model import Playbook
from runner.provenance import JournalSeal, Provenance, RunEvidence
from runner.provenance import collect as collect_provenance
from runner.report.result_json import RunIdentity, build_result, measurements, write_json
from runner.report.writer import write_reports
from runner.secrets import SecretMask
from runner.templating.templar import Templar
from runner.templating.variables import RunInfo
from runner.yamlpos import YamlDocument

if TYPE_CHECKING:
    # cryptography costs tens of milliseconds at start-up; only a signed run loads it.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
    kind: str = "drill"  # or "incident": a real rollback, kept apart from drills in reports
    plan_entry: str = ""  # `2026Q4/<id>` when `drillctl drill run` makes the run
    verbose: int = 0
    allow_production: bool = False
    allow_irreversible: bool = False
    confirm: tuple[str, ...] = ()
    sign_key: str | None = None  # ed25519 private key (PEM) to sign the journal's head
    ignore_unrecovered: bool = False
    inventories: tuple[str, ...] = ()  # several `-i`, merged in order; wins over `inventory`
    forks: int | None = None  # `-f`: overrides the playbook's forks
    connection: ConnectionDefaults = field(default_factory=ConnectionDefaults)
    start_at_task: str | None = None
    diff: bool = False

    @property
    def inventory_files(self) -> tuple[str, ...]:
        """The inventory files given on the command line, in order (none: not given)."""
        return self.inventories or ((self.inventory,) if self.inventory else ())


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
    inventory_file: str = ""  # as given with -i (several: comma-joined), or the playbook's
    inventory_files: tuple[str, ...] = ()  # each source file; empty for localhost
    provenance: Provenance | None = None
    sign_key: Ed25519PrivateKey | None = None
    notify: NotifyPlan | None = None  # the playbook's, channel URLs rendered

    @property
    def inventory_key(self) -> str:
        """The inventory's absolute path (locks, recover), or 'localhost' for the implicit one.

        With several sources, their absolute paths joined by commas (see `inventory_keys`)."""
        return ",".join(self.inventory_keys)

    @property
    def inventory_keys(self) -> tuple[str, ...]:
        """Each inventory source's absolute path, or ('localhost',): one lock each."""
        files = self.inventory_files or ((self.inventory_file,) if self.inventory_file else ())
        return tuple(str(Path(f).resolve()) for f in files) or ("localhost",)

    @property
    def mask(self) -> SecretMask:
        return self.templar.secrets


def new_run_id(playbook_path: str) -> str:
    """`<UTC second>-<playbook stem>-<6 random hex digits>`: readable, sortable by start, and
    unique however many runs start in one second, in one process or many."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(playbook_path).stem)
    return f"{stamp}-{stem}-{secrets.token_hex(3)}"


def prepare(request: RunRequest, *, run_dir: Path | None = None) -> Prepared:
    """Load and plan everything; raise InputError before any side effect."""
    playbook, doc = load_playbook(request.playbook)
    if request.forks is not None:
        playbook = replace(playbook, forks=request.forks)
    files = request.inventory_files or ((playbook.inventory,) if playbook.inventory else ())
    inventory = load_inventory(list(files)) if files else implicit_localhost()
    inventory = strictest_environment(inventory, files)
    inventory = apply_defaults(inventory, request.connection)
    inventory_path = ",".join(files)
    templar = Templar(SecretMask())
    for name in playbook.secrets:
        if name in request.extra_vars:
            templar.secrets.add(request.extra_vars[name])
    # A fresh id even with --out: a directory's name (`run`, `out`) says nothing unique.
    run_id = new_run_id(request.playbook)
    while run_dir is None and not request.out and (DEFAULT_RUNS_DIR / run_id).exists():
        run_id = new_run_id(request.playbook)
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
    plan = planner.plan(
        limit=request.limit,
        tags=request.tags,
        skip_tags=request.skip_tags,
        start_at=request.start_at_task,
    )
    notify = rendered_notify(playbook, inventory, templar, request.extra_vars)
    key = _signing_key(request.sign_key) if request.sign_key else None
    return Prepared(
        request,
        playbook,
        doc,
        inventory,
        templar,
        run,
        plan,
        inventory_path,
        files,
        sign_key=key,
        notify=notify,
    )


def _signing_key(path: str) -> Ed25519PrivateKey:
    """The key for `--sign-key`, loaded before anything runs: a bad key is bad input."""
    from runner.signing import KeyFileError, load_private_key

    try:
        return load_private_key(Path(path))
    except KeyFileError as exc:
        raise InputError.at(path, 1, 1, f"--sign-key: {exc}") from None


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def execute(
    prepared: Prepared, view: TerminalView, pool: ConnectionPool | None = None
) -> tuple[DrillOutcome, Path]:
    """Run the drill and write journal.jsonl and result.json into the run directory.

    `pool` lets in-process tests give the engine fake connections."""
    run_dir = Path(prepared.run.run_dir)
    request = prepared.request
    check_guards(
        prepared.playbook,
        prepared.inventory,
        Permissions(request.allow_production, request.allow_irreversible, request.change_id),
        prepared.plan.all_hosts(),
    )
    # Provenance is taken for a run only (not for `plan`): the files as this run reads them.
    prepared.provenance = collect_provenance(
        request.playbook, prepared.inventory_files, prepared.run.operator
    )
    # One lock per source file, taken in a fixed order: a drill on `-i a -i b` and one on
    # `-i b` exclude each other, as both touch b's hosts. Each lock records this run as the
    # inventory's last, and a dead run's faults left on any source refuse the run.
    sources = prepared.inventory_files or (
        (prepared.inventory_file,) if prepared.inventory_file else ("",)
    )
    locks: list[InventoryLock] = []
    try:
        for source in sorted(set(sources)):
            lock = InventoryLock(source, prepared.run.run_id, prepared.run.operator)
            lock.acquire(prepared.run.run_dir)
            locks.append(lock)
        if not request.ignore_unrecovered:
            for lock in locks:
                check_unrecovered(lock.location)  # a dead run's faults still in effect: exit 3
        locations = [lock.location for lock in locks]
        return _execute_locked(prepared, view, run_dir, pool or ConnectionPool(), locations)
    finally:
        for lock in reversed(locks):
            lock.release()


def _journal_signals(journal: Journal) -> Callable[[str, str, int], None]:
    """Record each signal the run receives (`drillctl halt` reads them: no second signal)."""

    def record(name: str, phase: str, count: int) -> None:
        with contextlib.suppress(OSError):  # the journal is closed: its evidence is complete
            journal.record(Event.INTERRUPT_RECEIVED, signal=name, phase=phase, count=count)

    return record


def _execute_locked(
    prepared: Prepared,
    view: TerminalView,
    run_dir: Path,
    pool: ConnectionPool,
    locations: list[LockLocation],
) -> tuple[DrillOutcome, Path]:
    hosts = prepared.plan.all_hosts()
    pool.check_supported(hosts)
    probes = sum(len(h) for h in prepared.plan.probe_hosts.values())
    ensure_descriptors(hosts, prepared.playbook.forks, probes)
    pool.open_all(hosts, prepared.playbook.forks)
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        if not prepared.request.out:
            # Another run took this id's directory between preflight and now: never share it.
            raise TargetEnvironmentError(
                f"run directory {run_dir} appeared before this run could create it; "
                "start the run again (it gets a new id)"
            ) from None
        if any(run_dir.iterdir()):
            raise InputError.at(
                str(run_dir), 1, 1, "run directory exists and is not empty"
            ) from None
    except OSError as exc:
        raise TargetEnvironmentError(f"cannot create run directory {run_dir}: {exc}") from None
    journal = Journal(run_dir / JOURNAL_NAME, prepared.mask)
    # From here until the journal is closed a signal follows the interrupt matrix: it never
    # kills the run before its evidence is written (`drillctl halt` relies on this).
    interrupts = Interrupts(view.notice, _journal_signals(journal))
    interrupts.install()
    hooks = DrillHooks(
        phase_started=view.phase_started,
        phase_skipped=view.phase_skipped,
        step_started=view.step_started,
        host_done=view.host_done,
        notice=view.notice,
        diff=view.diff if prepared.request.diff else None,
    )
    pb = prepared.playbook
    notices = None
    if prepared.notify is not None:
        notices = DrillNotices(
            prepared.plan,
            prepared.notify,
            prepared.templar,
            journal,
            prepared.run.environment,
            prepared.run.change_id,
        )
        hooks = notices.wrap(hooks)
    request = prepared.request
    journal.record(
        Event.RUN_STARTED,
        run_id=prepared.run.run_id,
        drill=pb.drill,
        component=pb.component,
        playbook=pb.path,
        inventory=prepared.inventory.path,
        # Absolute, so `drillctl recover` finds the hosts from any directory.
        inventory_path=prepared.inventory_key if prepared.inventory_file else "",
        inventory_paths=list(prepared.inventory_keys) if prepared.inventory_files else [],
        # `drillctl recover` reaches the hosts the same way.
        connection_defaults=asdict(request.connection),
        pid=os.getpid(),
        operator=prepared.run.operator,
        change_id=prepared.run.change_id,
        environment=prepared.run.environment,
        kind=prepared.request.kind,
        plan_entry=prepared.request.plan_entry,
        rollback_type=pb.rollback_type,
        hosts=[h.name for h in prepared.plan.all_hosts()],
        provenance=_started_provenance(prepared),
    )
    # Before any step: if this run dies, the next one on this inventory finds its journal.
    for location in locations:
        record_start(location, prepared.run.run_dir, prepared.run.run_id, prepared.run.operator)
    if prepared.plan.skipped_steps:
        journal.record(
            Event.STEPS_SKIPPED,
            steps=list(prepared.plan.skipped_steps),
            reason=f"--start-at-task {prepared.request.start_at_task}",
        )
    view.run_started(pb.drill, len(prepared.plan.all_hosts()), str(run_dir))
    if notices is not None:
        notices.started()
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
        if notices is not None:
            notices.reason = lambda: trigger_text(drill)
        outcome = drill.run()
    except BaseException:
        interrupts.uninstall()
        raise
    finally:
        view.close()
        pool.close_all()
    ident = RunIdentity(
        prepared.run.run_id,
        prepared.run.environment,
        prepared.run.operator,
        prepared.run.change_id,
        prepared.inventory.path,
        kind=prepared.request.kind,
        plan_entry=prepared.request.plan_entry,
    )
    if notices is not None:  # before the final event: every delivery is in the journal
        notices.finished(outcome, measurements(outcome))
    # The final event first: its hash is the head result.json and the signature name, so
    # `drillctl verify` can tell a journal cut at a line boundary from a finished one.
    final = Event.INTERRUPTED if outcome.status == "interrupted" else Event.RUN_FINISHED
    journal.record(
        final, status=outcome.status, reason=outcome.reason, signal=outcome.interrupted_by
    )
    journal.close()
    for location in locations:  # the run ended: its journal says how
        record_end(location, prepared.run.run_dir)
    try:
        seal = JournalSeal(JOURNAL_NAME, journal.head, journal.events, None)
        if prepared.sign_key is not None:
            from runner.signing import sign_head, write_signature

            signature = sign_head(prepared.sign_key, seal.head, seal.events)
            seal = replace(seal, signature=write_signature(run_dir, signature).name)
            seal = replace(seal, key_id=signature.key_id)
        result = build_result(pb, outcome, ident, _evidence(prepared, outcome, seal))
        write_json(run_dir / "result.json", result, prepared.mask)
        write_reports(run_dir, result, prepared.mask)
    finally:
        # Only now: a signal must not cut the evidence short (`drillctl halt` relies on it).
        interrupts.uninstall()
    return outcome, run_dir


def _started_provenance(prepared: Prepared) -> dict[str, Any]:
    """run_started's copy of the provenance, so a rebuild from the journal has it too."""
    facts = prepared.provenance.as_json() if prepared.provenance else {}
    key = prepared.sign_key
    if key is None:
        return {**facts, "signing_key": None}
    from runner.signing import signing_key_id

    return {**facts, "signing_key": signing_key_id(key)}


def _evidence(prepared: Prepared, outcome: DrillOutcome, seal: JournalSeal) -> RunEvidence:
    facts = prepared.provenance or collect_provenance(
        prepared.request.playbook, prepared.inventory_files, prepared.run.operator
    )
    return RunEvidence(facts, outcome.approvals, seal)
