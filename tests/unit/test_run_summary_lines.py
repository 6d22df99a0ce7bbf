"""The terminal summary at the end of a run, line by line and with its colours.

These lines are what an operator reads first: the verdict, the issues that made it, the
recovery figures (an unmeasured one as `n/a`, never 0) and where the evidence is.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from runner.engine.outcome import DrillOutcome
from runner.engine.results import PhaseResult
from runner.measure.baseline import BaselineComparison
from runner.measure.figures import DrillFigures
from runner.playbook.model import Playbook
from runner.run.console import TerminalView
from runner.run.summary import print_summary
from runner.secrets import SecretMask


class RecordingView(TerminalView):
    """A view that keeps each line with its style instead of printing it."""

    def __init__(self) -> None:
        super().__init__(SecretMask(), stream=io.StringIO())
        self.lines: list[tuple[str, str]] = []

    def say(self, text: str, style: str = "") -> None:
        self.lines.append((text, style))


@dataclass(frozen=True)
class _Data:
    rpo_lower_bound: bool | None


@dataclass(frozen=True)
class _Figures:
    """Just what the summary reads of the figures: the `measured` block, the data probes'
    lower-bound flags and the baseline comparisons."""

    measured: dict[str, Any]
    data: tuple[_Data, ...] = ()
    baseline: tuple[tuple[str, BaselineComparison], ...] = ()

    def as_result(self) -> dict[str, Any]:
        return dict(self.measured)


@dataclass(frozen=True)
class _Playbook:
    rollback_type: int
    budget_s: float | None


def _comparison(
    before: float | None, after: float | None, slower: bool | None
) -> BaselineComparison:
    return BaselineComparison(
        n_before=30,
        n_after=30,
        median_before_s=before,
        median_after_s=after,
        ratio=None,
        p_value=0.0012,
        slower=slower,
    )


def _outcome(
    status: str,
    *,
    rollback_s: float | None = None,
    figures: Any = None,
    phases: tuple[PhaseResult, ...] = (),
) -> DrillOutcome:
    if rollback_s is not None:
        phases = (*phases, PhaseResult("rollback", (), "", 0.0, rollback_s))
    return DrillOutcome(
        status=status,
        reason="the reason",
        phases=phases,
        started_at="",
        ended_at="",
        started_mono=100.0,
        ended_mono=165.0,
        rolled_back=rollback_s is not None,
        rollback_succeeded=None,
        trigger=None,
        figures=cast(DrillFigures, figures),
    )


def _summary(
    outcome: DrillOutcome, run_dir: Path, *, rollback_type: int = 2, budget_s: float | None = 300.0
) -> list[tuple[str, str]]:
    view = RecordingView()
    playbook = cast(Playbook, _Playbook(rollback_type, budget_s))
    print_summary(view, outcome, run_dir, playbook)
    return view.lines


def _write_result(run_dir: Path, result: dict[str, Any]) -> None:
    (run_dir / "result.json").write_text(json.dumps(result), encoding="utf-8")


def _step(name: str) -> dict[str, Any]:
    return {"phase": "change", "name": name, "host": "web1", "status": "failed", "rc": 1}


FIGURES = _Figures(
    measured={"rto_s": 42.0, "downtime_s": 3.5, "rpo_s": 1.25, "lost_writes": 7},
    data=(_Data(rpo_lower_bound=True),),
    baseline=(
        ("web", _comparison(0.1, 0.25, True)),
        ("api", _comparison(0.01, 0.011, False)),  # not slower: no line
        ("db", _comparison(None, 0.02, True)),  # no median before: no line
    ),
)


def test_a_failed_run_reads_its_verdict_issues_figures_and_evidence(tmp_path: Path) -> None:
    _write_result(
        tmp_path,
        {
            "status": "failed",
            "reason": "the reason",
            "steps": [_step("deploy")],
            "faults": [{"summary": "netem on eth0", "revert_failed": True}],
        },
    )
    for name in ("report.html", "report.md", "journal.jsonl"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    lines = _summary(_outcome("failed", rollback_s=12.34, figures=FIGURES), tmp_path)
    assert lines == [
        ("", ""),
        ("FAILED: the reason", "bold red"),
        ("  issue: change / deploy [web1] failed (rc 1)", "yellow"),
        ("  issue: fault not reverted: netem on eth0", "yellow"),
        ("  time to roll back  12.3s (type 2 budget 5m00s)", ""),
        ("  measured RTO      42.0s", ""),
        ("  downtime          3.50s", ""),
        ("  RPO               ≥ 1.25s", ""),
        ("  lost writes       7", ""),
        (
            "  NOT BACK TO BASELINE (web): median latency 100.0 ms before the change, "
            "250.0 ms after the rollback (p=0.0012)",
            "bold yellow",
        ),
        ("  run took          1m05s", ""),
        (f"  report: {tmp_path / 'report.html'}", ""),
        (f"  evidence: {tmp_path}", ""),
    ]


def test_figures_not_measured_read_n_a_and_no_budget_means_no_limit(tmp_path: Path) -> None:
    figures = _Figures(
        measured={"rto_s": None, "downtime_s": None, "rpo_s": None, "lost_writes": None},
        data=(_Data(rpo_lower_bound=True),),
    )
    outcome = _outcome("passed", rollback_s=0.5, figures=figures)
    lines = _summary(outcome, tmp_path, rollback_type=5, budget_s=None)
    assert lines == [
        ("", ""),
        ("PASSED: the reason", "bold green"),
        ("  time to roll back  0.50s", ""),
        ("  measured RTO      n/a", ""),
        ("  downtime          n/a", ""),
        ("  RPO               n/a", ""),
        ("  lost writes       n/a", ""),
        ("  run took          1m05s", ""),
        (f"  evidence: {tmp_path}", ""),
    ]


def test_no_lost_write_reads_0_not_n_a(tmp_path: Path) -> None:
    figures = _Figures(
        measured={"rto_s": 1.0, "downtime_s": 0.0, "rpo_s": 0.0, "lost_writes": 0},
        data=(_Data(rpo_lower_bound=False),),
    )
    lines = _summary(_outcome("passed", figures=figures), tmp_path)
    assert ("  lost writes       0", "") in lines
    assert ("  RPO               0.00s", "") in lines
    assert not any(text.startswith("  time to roll back") for text, _ in lines)


@pytest.mark.parametrize(
    ("present", "shown"),
    [
        (("report.md", "result.json", "journal.jsonl"), "report.md"),
        (("result.json", "journal.jsonl"), "result.json"),
        (("journal.jsonl",), "journal.jsonl"),
    ],
)
def test_the_report_line_names_the_first_evidence_file_there_is(
    tmp_path: Path, present: tuple[str, ...], shown: str
) -> None:
    for name in present:
        (tmp_path / name).write_text("{}", encoding="utf-8")
    lines = _summary(_outcome("error"), tmp_path)
    assert lines[-2:] == [(f"  report: {tmp_path / shown}", ""), (f"  evidence: {tmp_path}", "")]
    assert lines[1] == ("ERROR: the reason", "bold red")


def test_a_passed_run_shows_objective_issues_but_not_the_failed_change_step(tmp_path: Path) -> None:
    _write_result(
        tmp_path,
        {
            "status": "passed",
            "steps": [_step("deploy")],
            "verdicts": {"baseline": "missed"},
        },
    )
    lines = _summary(_outcome("passed"), tmp_path)
    assert [line for line in lines if line[0].startswith("  issue")] == [
        ("  issue: service not back to its baseline latency", "yellow")
    ]


@pytest.mark.parametrize(("steps", "more"), [(10, None), (11, 1), (13, 3)])
def test_at_most_ten_issues_are_shown_then_how_many_more(
    tmp_path: Path, steps: int, more: int | None
) -> None:
    _write_result(
        tmp_path,
        {"status": "failed", "reason": "r", "steps": [_step(f"s{i}") for i in range(steps)]},
    )
    lines = [text for text, _ in _summary(_outcome("interrupted"), tmp_path)]
    issues = [text for text in lines if text.startswith("  issue: ")]
    assert issues == [f"  issue: change / s{i} [web1] failed (rc 1)" for i in range(10)]
    tail = [text for text in lines if text.startswith("  … and")]
    assert tail == ([] if more is None else [f"  … and {more} more issues (see report.html)"])
