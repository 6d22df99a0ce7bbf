"""Run a prepared drill: take the inventory locks, journal it, run it, write the evidence."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from runner.connections.pool import ConnectionPool
from runner.engine.checkpoints import Checkpoints
from runner.engine.drill import DrillHooks, DrillRun
from runner.engine.interrupts import Interrupts
from runner.engine.last_run import check_unrecovered, record_end, record_start
from runner.engine.lock import InventoryLock, LockLocation
from runner.engine.notices import DrillNotices, trigger_text
from runner.engine.outcome import DrillOutcome
from runner.engine.resources import ensure_descriptors
from runner.engine.safety import Permissions, check_guards
from runner.errors import InputError, TargetEnvironmentError
from runner.journal import JOURNAL_NAME, Journal
from runner.journal_events import Event
from runner.provenance import collect as collect_provenance
from runner.results.result_json import measurements
from runner.run.console import TerminalView
from runner.run.evidence import started_provenance, write_evidence
from runner.run.prepare import Prepared


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
        if not run_dir.is_dir() or any(run_dir.iterdir()):  # made since the preflight
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
        provenance=started_provenance(prepared),
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
        write_evidence(prepared, outcome, journal.head, journal.events, run_dir)
    except OSError as exc:
        # The journal is whole (its final event is written); only what is made from it is
        # missing. Not the drill's verdict: an environment error that says where the run is.
        raise TargetEnvironmentError(
            f"the drill ended with status {outcome.status}, but its result.json and reports "
            "could not be "
            f"written to {run_dir}: {exc}; its journal.jsonl holds the run (`drillctl history "
            f"import {run_dir}` rebuilds it)"
        ) from None
    finally:
        # Only now: a signal must not cut the evidence short (`drillctl halt` relies on it).
        interrupts.uninstall()
    return outcome, run_dir
