"""The one verdict of a run, as every report shows it: status, reason, and the issues found.

Derived from result.json alone (which is itself built from the run's outcome, or rebuilt
from its journal), so the terminal, report.md, report.html, junit.xml, the history and the
quarterly report cannot disagree: "Final validation" is "Pass" only on a passed run, and
"Issues found" names every missed or unmeasured objective, failed step and unreverted fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PASSED = "passed"
NOT_MEASURED = "not measured"
# Host statuses that make a step fail (runner.engine.results.HostResult.failed).
FAILING = ("failed", "unreachable", "interrupted")
_OBJECTIVES = (("rto", "RTO", "rto_s"), ("rpo", "RPO", "rpo_s"))


@dataclass(frozen=True)
class Issue:
    """One thing the run did not prove; `kind` is objective, step, fault or run."""

    kind: str
    text: str


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    issues: tuple[Issue, ...]

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def final_validation(self) -> str:
        """The procedure's "Final validation" row: Pass only when the drill passed."""
        if self.passed:
            return "Pass"
        return f"Fail ({self.status})" + (f": {self.reason}" if self.reason else "")


def _seconds(value: Any) -> str:
    return f"{float(value):g} s"


def objective_issues(result: dict[str, Any]) -> list[Issue]:
    """Objectives missed, or set but not measured; a missed budget or baseline too."""
    objectives = result.get("objectives") or {}
    measured = result.get("measured") or {}
    verdicts = result.get("verdicts") or {}
    issues = []
    for key, label, field in _OBJECTIVES:
        limit, figure, said = objectives.get(field), measured.get(field), verdicts.get(key)
        if said == "missed":
            shown = "?" if figure is None else _seconds(figure)
            issues.append(
                Issue(
                    "objective",
                    f"{label} missed: measured {shown}, objective "
                    f"{'?' if limit is None else _seconds(limit)}",
                )
            )
        elif limit is not None and (said == NOT_MEASURED or figure is None):
            issues.append(
                Issue("objective", f"{label} {NOT_MEASURED} (objective {_seconds(limit)})")
            )
    if verdicts.get("budget") == "missed":
        took, budget = measured.get("time_to_rollback_s"), result.get("budget_s")
        issues.append(
            Issue(
                "objective",
                f"time to roll back {'?' if took is None else _seconds(took)} is over "
                f"the type {result.get('rollback_type')} budget of "
                f"{'?' if budget is None else _seconds(budget)}",
            )
        )
    if verdicts.get("baseline") == "missed":
        issues.append(Issue("objective", "service not back to its baseline latency"))
    return issues


def step_issues(result: dict[str, Any]) -> list[Issue]:
    """Every step and host whose status fails the step, in run order."""
    issues = []
    for s in result.get("steps") or []:
        if s.get("status") not in FAILING:
            continue
        rc = f" (rc {s['rc']})" if s.get("rc") is not None else ""
        msg = f": {s['msg']}" if s.get("msg") else ""
        issues.append(
            Issue(
                "step",
                f"{s.get('phase', '?')} / {s.get('name', '?')} [{s.get('host', '?')}] "
                f"{s.get('status')}{rc}{msg}",
            )
        )
    return issues


def fault_issues(result: dict[str, Any]) -> list[Issue]:
    return [
        Issue("fault", f"fault not reverted: {f.get('summary') or f.get('kind')}")
        for f in result.get("faults") or []
        if f.get("revert_failed")
    ]


def verdict_of(result: dict[str, Any]) -> Verdict:
    """The run's verdict. A run that did not pass lists its reason first, then the rest."""
    status = str(result.get("status") or "error")
    reason = str(result.get("reason") or "")
    issues = [*objective_issues(result), *step_issues(result), *fault_issues(result)]
    if status != PASSED:
        issues.insert(0, Issue("run", f"{status}: {reason or 'no reason recorded'}"))
    return Verdict(status, reason, tuple(issues))


def issues_block(result: dict[str, Any]) -> list[dict[str, str]]:
    """result.json's `issues`: the verdict's issues as plain objects."""
    return [{"kind": i.kind, "text": i.text} for i in verdict_of(result).issues]
