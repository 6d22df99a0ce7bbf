"""The evidence a finished run leaves beside its journal: provenance, result.json, reports."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from runner.engine.outcome import DrillOutcome
from runner.journal import JOURNAL_NAME
from runner.provenance import JournalSeal, RunEvidence
from runner.provenance import collect as collect_provenance
from runner.report.writer import write_reports
from runner.results.codec import result_json, write_json
from runner.results.result_json import RunIdentity, build_result
from runner.run.prepare import Prepared


def started_provenance(prepared: Prepared) -> dict[str, Any]:
    """run_started's copy of the provenance, so a rebuild from the journal has it too."""
    facts = prepared.provenance.as_json() if prepared.provenance else {}
    key = prepared.sign_key
    if key is None:
        return {**facts, "signing_key": None}
    from runner.signing import signing_key_id

    return {**facts, "signing_key": signing_key_id(key)}


def write_evidence(
    prepared: Prepared, outcome: DrillOutcome, head: str, events: int, run_dir: Path
) -> None:
    """Sign the journal's head (with --sign-key), then write result.json and the reports.

    `head` and `events` are those of the journal's final event, already written."""
    seal = JournalSeal(JOURNAL_NAME, head, events, None)
    if prepared.sign_key is not None:
        from runner.signing import sign_head, write_signature

        signature = sign_head(prepared.sign_key, seal.head, seal.events)
        seal = replace(seal, signature=write_signature(run_dir, signature).name)
        seal = replace(seal, key_id=signature.key_id)
    ident = RunIdentity(
        prepared.run.run_id,
        prepared.run.environment,
        prepared.run.operator,
        prepared.run.change_id,
        prepared.inventory.path,
        kind=prepared.request.kind,
        plan_entry=prepared.request.plan_entry,
    )
    result = build_result(prepared.playbook, outcome, ident, _evidence(prepared, outcome, seal))
    data = result_json(result)
    write_json(run_dir / "result.json", data, prepared.mask)
    write_reports(run_dir, data, prepared.mask)


def _evidence(prepared: Prepared, outcome: DrillOutcome, seal: JournalSeal) -> RunEvidence:
    facts = prepared.provenance or collect_provenance(
        prepared.request.playbook, prepared.inventory_files, prepared.run.operator
    )
    return RunEvidence(facts, outcome.approvals, seal)
