"""The runs a quarterly report names one by one (failed, voided), with links to their evidence.

A link must open from where the report is read: it is relative to the report's directory,
URL-quoted, and points at the first evidence file the run directory still holds (a run rebuilt
from its journal has no report.html); evidence that is gone is marked missing, not hidden.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runner.history.rows import DRILL, RunRow

# The evidence a run's link points at: the first of these its run directory holds.
EVIDENCE_FILES = ("report.html", "result.json", "journal.jsonl")


@dataclass(frozen=True)
class Evidence:
    """A link to a run's evidence: `href` relative to where the report is written (URL-quoted),
    `name` the file it opens; `missing` when the run directory holds none of it any more."""

    href: str | None
    name: str
    missing: bool = False


@dataclass(frozen=True)
class FailedRun:
    run_id: str
    drill: str
    component: str
    status: str
    started_at: str | None
    reason: str
    report: str | None  # path of its evidence file, relative to where the report is written
    kind: str = DRILL
    evidence: Evidence | None = None


@dataclass(frozen=True)
class VoidedRun:
    """A run taken out of every figure, with who voided it, when and why."""

    run_id: str
    drill: str
    kind: str
    status: str
    started_at: str | None
    voided_at: str
    voided_by: str
    reason: str
    evidence: Evidence | None


def evidence(run_dir: str | None, link_base: Path | None) -> Evidence | None:
    """A working link to the run's evidence, from the directory the report is written to."""
    if not run_dir:
        return None
    found = next((n for n in EVIDENCE_FILES if os.path.isfile(os.path.join(run_dir, n))), None)
    target = os.path.join(run_dir, found or EVIDENCE_FILES[0])
    path = target if link_base is None else os.path.relpath(target, link_base)
    href = urllib.parse.quote(Path(path).as_posix(), safe="/.-_~")
    return Evidence(href, found or EVIDENCE_FILES[0], missing=found is None)


def failed_runs(runs: Sequence[RunRow], link_base: Path | None) -> tuple[FailedRun, ...]:
    """Runs that did not pass, each with a link to its evidence from `link_base`."""
    out = []
    for r in runs:
        if r.status == "passed":
            continue
        link = evidence(r.run_dir, link_base)
        out.append(
            FailedRun(
                r.run_id,
                r.drill,
                r.component or "",
                r.status,
                r.started_at,
                r.reason or "",
                None if link is None else link.href,
                r.kind,
                link,
            )
        )
    return tuple(out)


def voided_runs(runs: Sequence[RunRow], link_base: Path | None) -> tuple[VoidedRun, ...]:
    return tuple(
        VoidedRun(
            r.run_id,
            r.drill,
            r.kind,
            r.status,
            r.started_at,
            r.voided_at or "",
            r.voided_by or "",
            r.void_reason or "",
            evidence(r.run_dir, link_base),
        )
        for r in runs
        if r.voided
    )
