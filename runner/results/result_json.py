"""`result.json`: the versioned, documented summary other tools read (docs/result-json.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.engine.outcome import DrillOutcome, objective_verdict
from runner.measure.figures import (
    availability_block,
    baseline_block,
    baseline_verdict,
    data_block,
    measured_without_probes,
    timeline_block,
)
from runner.playbook.checklists import evaluate
from runner.playbook.model import Playbook
from runner.playbook.secrets import SecretMask
from runner.provenance import RunEvidence
from runner.results.verdict import issues_block

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunIdentity:
    run_id: str
    environment: str
    operator: str
    change_id: str
    inventory: str
    kind: str = "drill"
    plan_entry: str = ""


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def measurements(outcome: DrillOutcome) -> dict[str, Any]:
    """Figures measured from the run; a figure that was not measured is None, never a guess."""
    if outcome.figures is not None:
        return outcome.figures.as_result()
    rollback = outcome.phase("rollback")
    trigger = outcome.trigger
    detected = trigger.mono if trigger and trigger.mono else None
    decide = None
    if detected is not None and outcome.decided_mono is not None:
        decide = max(0.0, outcome.decided_mono - detected)
    return measured_without_probes(decide, rollback.duration_s if rollback else None)


def verdict(measured: float | None, limit: float | None) -> str | None:
    """'met', 'missed', or None when either side is unknown."""
    if measured is None or limit is None:
        return None
    return "met" if measured <= limit else "missed"


def build_result(
    playbook: Playbook,
    outcome: DrillOutcome,
    ident: RunIdentity,
    evidence: RunEvidence | None = None,
) -> dict[str, Any]:
    """result.json's content; `evidence` is the run's provenance (None only in unit tests)."""
    measured = measurements(outcome)
    trigger = outcome.trigger
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": ident.run_id,
        "drill": playbook.drill,
        "component": playbook.component or None,
        "playbook": playbook.path,
        "inventory": ident.inventory,
        "environment": ident.environment or None,
        "operator": ident.operator,
        "change_id": ident.change_id or None,
        "kind": ident.kind,
        "plan_entry": ident.plan_entry or None,
        "status": outcome.status,
        "reason": outcome.reason,
        "started_at": outcome.started_at,
        "ended_at": outcome.ended_at,
        "duration_s": _round(outcome.ended_mono - outcome.started_mono),
        "rollback_type": playbook.rollback_type,
        "objectives": {"rto_s": playbook.objectives.rto_s, "rpo_s": playbook.objectives.rpo_s},
        "budget_s": playbook.budget_s,
        "measured": measured,
        "verdicts": {
            "rto": objective_verdict(measured["rto_s"], playbook.objectives.rto_s),
            "rpo": objective_verdict(
                measured["rpo_s"],
                playbook.objectives.rpo_s,
                lower_bound=bool(measured.get("rpo_lower_bound")),
            ),
            "budget": verdict(measured["time_to_rollback_s"], playbook.budget_s),
            "baseline": baseline_verdict(outcome.figures),
        },
        "timeline": timeline_block(outcome.figures, outcome.started_at, outcome.started_mono)
        if outcome.figures
        else {},
        "data": data_block(outcome.figures) if outcome.figures else [],
        "baseline": baseline_block(outcome.figures) if outcome.figures else [],
        "availability": availability_block(outcome.figures, outcome.started_mono)
        if outcome.figures
        else [],
        "rolled_back": outcome.rolled_back,
        "rollback_succeeded": outcome.rollback_succeeded,
        "trigger": None
        if trigger is None
        else {k: v for k, v in trigger.__dict__.items() if k != "mono" and v != ""},
        "faults": [
            {
                "kind": f.plan.kind,
                "targets": [f.plan.host],
                "summary": f.plan.summary,
                "injected_at": f.injected_at or None,
                "reverted_at": f.reverted_at or None,
                "revert_failed": f.revert_failed,
            }
            for f in outcome.faults
        ],
        "checklists": evaluate(playbook.checklists, _step_statuses(outcome), outcome.confirmations),
        "phases": [
            {
                "phase": p.phase,
                "status": "skipped" if not p.ran else ("failed" if p.failed else "ok"),
                "started_at": p.started_at,
                "duration_s": _round(p.duration_s),
                **({"skipped_reason": p.skipped_reason} if p.skipped_reason else {}),
            }
            for p in outcome.phases
        ],
        "steps": [
            {
                "phase": s.step.phase,
                "name": s.step.name,
                "action": s.step.action,
                "host": h.host,
                "status": h.status,
                "started_at": h.started_at,
                "duration_s": _round(h.duration_s),
                "rc": h.rc,
                "attempts": h.attempts,
                "msg": h.msg,
            }
            for s in outcome.steps()
            for h in s.hosts
        ],
        "provenance": evidence.as_json() if evidence is not None else None,
    }
    # What every report lists under "Issues found", from the same verdict they all show.
    result["issues"] = issues_block(result)
    return result


def _step_statuses(outcome: DrillOutcome) -> dict[str, list[str]]:
    statuses: dict[str, list[str]] = {}
    for step in outcome.steps():
        statuses.setdefault(step.step.name, []).extend(h.status for h in step.hosts)
    return statuses


def write_json(path: Path, data: dict[str, Any], mask: SecretMask) -> None:
    """Write atomically (tmp + rename), secrets masked."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(mask.mask_value(data), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
