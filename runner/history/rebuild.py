"""A run's result from its run directory: result.json, or a rebuild from journal.jsonl.

The journal is written as things happen and fsynced, so it survives what result.json may
not (a runner killed before the end, a damaged or deleted file). A rebuild keeps to what the
events prove: the figures are re-measured from the journaled probe samples, and what the
journal does not hold (the playbook's objectives) stays null rather than being guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.engine.outcome import DETECTING_TRIGGERS, MEASURED_EVENT
from runner.errors import InputError
from runner.history.rows import SOURCE_JOURNAL, SOURCE_RESULT
from runner.journal import JOURNAL_NAME, read_events, verify_chain
from runner.journal_events import ENVELOPE, FINAL_EVENTS, Event
from runner.measure.figures import DrillFigures, measure_drill, measured_without_probes
from runner.measure.probes import ProbeLog
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.timeline import Timeline
from runner.playbook.model import BUDGETS_S
from runner.provenance import provenance_from_journal
from runner.results.assemble import assemble, figure_blocks
from runner.results.codec import ResultShapeError, decode, encode, result_json
from runner.results.model import SCHEMA_VERSION, RunResult

RESULT_NAME = "result.json"


@dataclass(frozen=True)
class LoadedRun:
    result: dict[str, Any]
    source: str


def load_run(run_dir: Path) -> LoadedRun:
    """The run's result.json if it is whole, else the result its journal proves."""
    if not run_dir.is_dir():
        raise InputError.at(str(run_dir), 1, 1, "no such run directory")
    journal = run_dir / JOURNAL_NAME
    if journal.is_file():
        _check_chain(journal, run_dir)
    result, why = _read_result(run_dir / RESULT_NAME)
    if result is not None:
        return LoadedRun(result, SOURCE_RESULT)
    if not journal.is_file():
        raise InputError.at(
            str(run_dir / RESULT_NAME),
            1,
            1,
            f"{why}, and there is no {JOURNAL_NAME} to rebuild from",
        )
    rebuilt = rebuild_result(list(read_events(journal)), why)
    return LoadedRun(result_json(rebuilt), SOURCE_JOURNAL)


def _check_chain(journal: Path, run_dir: Path) -> None:
    """Refuse evidence that fails its hash chain; a torn last line is only a crash's mark."""
    check = verify_chain(journal)
    if check.ok:
        return
    lines = journal.read_bytes().rstrip(b"\n").split(b"\n")
    torn_tail = check.line == len(lines) and check.events == len(lines) - 1 and check.events > 0
    if torn_tail and _not_json(lines[-1]):
        return
    raise InputError.at(
        str(journal),
        check.line,
        1,
        f"{check.problem}: refusing to import a journal that fails its hash chain "
        f"(see `drillctl verify {run_dir}`)",
    )


def _not_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return True
    return False


def _read_result(path: Path) -> tuple[dict[str, Any] | None, str]:
    """(result, "") or (None, why it cannot be used)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no {RESULT_NAME}"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{RESULT_NAME} is damaged ({exc})"
    if not (
        isinstance(data, dict)
        and isinstance(data.get("schema_version"), int)
        and isinstance(data.get("run_id"), str)
        and isinstance(data.get("status"), str)
    ):
        return None, f"{RESULT_NAME} is not a drill result (no schema_version, run_id or status)"
    return data, ""


def _body(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ENVELOPE}


def rebuild_result(events: list[dict[str, Any]], why: str = "") -> RunResult:
    """The run's RunResult, from journal events (run_started first)."""
    if not events or events[0].get("event") != Event.RUN_STARTED:
        raise InputError.at(JOURNAL_NAME, 1, 1, "the journal does not start with run_started")
    start, last = events[0], events[-1]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_kind.setdefault(str(e.get("event")), []).append(e)
    finish = next((e for e in reversed(events) if e["event"] in FINAL_EVENTS), None)
    phases = _phases(events)
    rollback = next(
        (p for p in phases if p["phase"] == "rollback" and p["status"] != "skipped"), None
    )
    fired = by_kind.get(Event.TRIGGER_FIRED, [])
    trigger_event = fired[0] if fired else None
    trigger = None
    if trigger_event is not None:
        trigger = {k: v for k, v in _body(trigger_event).items() if v != ""}
    # The runner's own numbers, when it lived to measure (one clock: see `measured_record`).
    own = next(iter(by_kind.get(MEASURED_EVENT, [])), None)
    figures = _figures(events, by_kind, trigger_event, own)
    measured = _measured(own, figures, by_kind, trigger_event)
    rollback_type = start.get("rollback_type")
    budget = BUDGETS_S.get(rollback_type) if isinstance(rollback_type, int) else None
    objectives: dict[str, Any] = {"rto_s": None, "rpo_s": None}
    started_at, ended_at = start.get("time"), last.get("time")
    started_mono = float(start["mono"])
    duration_s = round(float(last["mono"]) - started_mono, 3)
    if own is not None:
        objectives = dict(own.get("objectives") or objectives)
        budget = own.get("budget_s", budget)
        started_at, ended_at = own["started_at"], own["ended_at"]
        started_mono = float(own["started_mono"])
        duration_s = round(float(own["ended_mono"]) - started_mono, 3)
    if finish is not None:
        status, reason = str(finish.get("status", "error")), str(finish.get("reason", ""))
    else:
        status = "error"
        reason = (
            f"the runner stopped before the end: the journal ends at event {last.get('seq')} "
            f"({last.get('event')})"
        )
    facts: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": start.get("run_id"),
        "drill": start.get("drill", ""),
        "component": start.get("component") or None,
        "playbook": start.get("playbook"),
        "inventory": start.get("inventory"),
        "environment": start.get("environment") or None,
        "operator": start.get("operator", ""),
        "change_id": start.get("change_id") or None,
        "kind": start.get("kind") or "drill",
        "plan_entry": start.get("plan_entry") or None,
        "status": status,
        "reason": reason,
        "started_at": started_at,
        "ended_at": ended_at,
        "duration_s": duration_s,
        "rollback_type": rollback_type,
        # Journaled by a run that lived to its end; else unknown, never re-read from a
        # playbook that may have changed since the run.
        "objectives": objectives,
        "budget_s": budget,
        "measured": measured,
        "verdicts": {
            "rto": None,
            "rpo": None,
            "budget": None,
            "baseline": None if own is None else own.get("baseline"),
        },
        # Measured again from the journaled samples, as the runner measured them.
        **encode(figure_blocks(figures, str(started_at), started_mono)),
        "rolled_back": rollback is not None,
        "rollback_succeeded": None if rollback is None else rollback["status"] == "ok",
        "trigger": trigger,
        "faults": _faults(by_kind),
        # No checklists: the journal holds the confirmations, not the playbook's items.
        "phases": phases,
        "steps": _steps(events),
        "rebuilt_from": {"journal": JOURNAL_NAME, "why": why, "events": len(events)},
        "provenance": provenance_from_journal(events),
        "issues": [],  # derived by `assemble`, as for the runner's result
    }
    try:
        typed = decode(RunResult, facts)
    except ResultShapeError as exc:
        raise InputError.at(JOURNAL_NAME, 1, 1, f"cannot rebuild the result: {exc}") from None
    return assemble(typed)


def _phases(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    phases: list[dict[str, Any]] = []
    for e in events:
        kind = e.get("event")
        if kind == Event.PHASE_STARTED:
            phases.append(
                {
                    "phase": e["phase"],
                    "status": "failed",
                    "started_at": e.get("started_at", e["time"]),
                    "duration_s": None,
                }
            )
        elif kind == Event.PHASE_FINISHED and phases and phases[-1]["phase"] == e.get("phase"):
            # A phase without phase_finished was cut short by the runner's death: failed.
            phases[-1].update(status=e.get("status", "ok"), duration_s=e.get("duration_s"))
        elif kind == Event.PHASE_SKIPPED:
            phases.append(
                {
                    "phase": e["phase"],
                    "status": "skipped",
                    "started_at": e.get("started_at", e["time"]),
                    "duration_s": 0.0,
                    "skipped_reason": e.get("reason", ""),
                }
            )
    for p in phases:
        if isinstance(p.get("duration_s"), (int, float)):
            p["duration_s"] = round(float(p["duration_s"]), 3)
    return phases


def _steps(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    actions = {
        (e.get("phase"), e.get("index")): e.get("action")
        for e in events
        if e.get("event") == Event.STEP_STARTED
    }
    return [
        {
            "phase": e.get("phase"),
            "name": e.get("step"),
            "action": actions.get((e.get("phase"), e.get("index"))),
            "host": e.get("host"),
            "status": e.get("status"),
            "started_at": e.get("started_at"),
            "duration_s": None if e.get("duration_s") is None else round(float(e["duration_s"]), 3),
            "rc": e.get("rc"),
            "attempts": e.get("attempts"),
            "msg": e.get("msg", ""),
        }
        for e in events
        if e.get("event") == Event.HOST_RESULT
    ]


def _faults(by_kind: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    # Journals written before `injected_at` was recorded carry only the event's own stamp,
    # taken a check later.
    injected = {
        e["fault_id"]: e.get("injected_at", e["time"])
        for e in by_kind.get(Event.FAULT_INJECTED, [])
    }
    # Journals written before `reverted_at` was recorded carry only the event's own stamp.
    reverted = {
        e["fault_id"]: e.get("reverted_at", e["time"])
        for e in by_kind.get(Event.FAULT_REVERTED, [])
    }
    # A revert that ended only after the run had reported it as overdue clears nothing.
    cleared = {e["fault_id"] for e in by_kind.get(Event.FAULT_REVERTED, []) if not e.get("late")}
    failed = {e["fault_id"] for e in by_kind.get(Event.FAULT_REVERT_FAILED, [])}
    return [
        {
            "kind": e.get("kind"),
            "targets": [e.get("host")],
            "summary": e.get("summary", ""),
            "injected_at": injected.get(e["fault_id"]),
            "reverted_at": reverted.get(e["fault_id"]),
            # A later successful revert (e.g. by `drillctl recover`) clears an earlier failure.
            "revert_failed": e["fault_id"] in failed and e["fault_id"] not in cleared,
        }
        # Every fault the runner set out to inject, as result.json lists them: one whose
        # inject failed may have been partly applied, and was reverted (or not) all the same.
        for e in by_kind.get(Event.FAULT_INTENT, [])
    ]


def _measured(
    own: dict[str, Any] | None,
    figures: DrillFigures | None,
    by_kind: dict[str, list[dict[str, Any]]],
    trigger: dict[str, Any] | None,
) -> dict[str, Any]:
    """The `measured` block: the runner's own figures when it journaled them, else those
    measured again from the journaled samples, else the drill's own times alone."""
    if own is not None and isinstance(own.get("figures"), dict):
        return dict(own["figures"])
    if figures is not None:
        return figures.as_result()
    # The runner times a decision from any trigger with a time (a rehearsal's is 0: none);
    # without its record, only from one that detected an incident.
    detected = None
    detecting = own is not None or (trigger or {}).get("kind") in DETECTING_TRIGGERS
    if trigger is not None and trigger.get("mono") and detecting:
        detected = float(trigger["mono"])
    decided = own.get("decided_mono") if own is not None else _first_decision(by_kind)
    decide = None if detected is None or decided is None else max(0.0, decided - detected)
    finished = [e for e in by_kind.get(Event.PHASE_FINISHED, []) if e.get("phase") == "rollback"]
    rollback_s = float(finished[-1 if own is not None else 0]["duration_s"]) if finished else None
    return measured_without_probes(decide, rollback_s)


def _first_decision(by_kind: dict[str, list[dict[str, Any]]]) -> float | None:
    decisions = by_kind.get(Event.DECISION, [])
    return float(decisions[0]["mono"]) if decisions else None


def _mono(
    events: list[dict[str, Any]], kind: str, phase: str, *, last: bool = False
) -> float | None:
    found = [float(e["mono"]) for e in events if e.get("event") == kind and e.get("phase") == phase]
    return (found[-1] if last else found[0]) if found else None


def _figures(
    events: list[dict[str, Any]],
    by_kind: dict[str, list[dict[str, Any]]],
    trigger: dict[str, Any] | None,
    own: dict[str, Any] | None,
) -> DrillFigures | None:
    """The probes' figures, measured again from the journaled samples (None without probes).

    With the runner's own record, against its own drill times and `healthy_after`: the same
    measurement it made. Without it (the runner died), against times read from the events.
    """
    if Event.PROBES_STARTED not in by_kind:
        return None
    log = _probe_log(by_kind)
    if own is not None and isinstance(own.get("timeline"), dict):
        healthy_after = {str(k): int(v) for k, v in (own.get("healthy_after") or {}).items()}
        return measure_drill(log, Timeline(**own["timeline"]), healthy_after)
    detected = None
    if trigger is not None and trigger.get("kind") in DETECTING_TRIGGERS:
        detected = float(trigger["mono"])
    decisions = by_kind.get(Event.DECISION, [])
    decided = float(decisions[0]["mono"]) if decisions and detected is not None else None
    finished = [e for e in by_kind.get(Event.PHASE_FINISHED, []) if e.get("phase") == "rollback"]
    rollback_s = float(finished[0]["duration_s"]) if finished else None
    rollback_started = _mono(events, Event.PHASE_STARTED, "rollback")
    reads = by_kind.get(Event.PROBE_READ_BACK, [])
    verify_ended = (
        float(reads[0]["mono"])
        if reads
        else _mono(events, Event.PHASE_FINISHED, "verify", last=True)
    )
    injected = [float(e["mono"]) for e in by_kind.get(Event.FAULT_INJECTED, [])]
    times = Timeline(  # the drill's times; each probe adds its samples
        deploy_started=_mono(events, Event.PHASE_STARTED, "deploy"),
        first_fault_injected=min(injected, default=None),
        detected=detected,
        decided=decided,
        rollback_started=rollback_started,
        rollback_ended=None
        if rollback_started is None or rollback_s is None
        else rollback_started + rollback_s,
        verify_ended=verify_ended,
    )
    # healthy_after is not journaled but in the runner's own record; 3 is its default.
    return measure_drill(log, times, {})


def _probe_log(by_kind: dict[str, list[dict[str, Any]]]) -> ProbeLog:
    log = ProbeLog()
    for e in by_kind.get(Event.PROBE_SAMPLES, []):
        for t, ok, latency_ms, error in e.get("rows", []):
            latency = None if latency_ms is None else float(latency_ms) / 1000
            log.availability.append(  # ok null: an unknown sample (no verdict)
                AvailabilitySample(
                    e["probe"], float(t), bool(ok), latency, error or "", unknown=ok is None
                )
            )
    for e in by_kind.get(Event.PROBE_WRITES, []):
        for seq, sent, acked, ok in e.get("rows", []):
            ack = float(acked) if ok and acked is not None else None
            log.writes.append(WriteAttempt(e["probe"], int(seq), float(sent), ack, ack is not None))
    for e in by_kind.get(Event.PROBE_READ_BACK, []):
        label = f"{e.get('probe')}@{e.get('host')}"
        seqs = tuple(int(s) for s in e.get("seqs", []))
        log.reads.append(
            ReadBack(
                label,
                float(e["mono"]),
                seqs,
                "" if e.get("ok") else str(e.get("error", "read failed")),
            )
        )
    return log
