"""Every report shows the run's provenance, and a lower-bound RPO as a lower bound."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from runner.engine.outcome import DrillOutcome
from runner.measure.figures import DrillFigures
from runner.measure.rpo import DataLoss
from runner.playbook.loader import load_playbook
from runner.report import html, junit, markdown
from runner.run.console import TerminalView
from runner.run.summary import print_summary
from runner.secrets import SecretMask
from tests.unit.test_reports import _result, _two_hundred_steps

HEAD = "1f" * 32
PROVENANCE: dict[str, Any] = {
    "drillctl_version": "0.1.0",
    "playbook": {"path": "playbooks/order-gateway.yml", "sha256": "aa" * 32},
    "inventory": {
        "path": None,
        "sha256": None,
        "reason": "no inventory file: the implicit localhost",
    },
    "git": {"commit": None, "dirty": None, "reason": "the playbook is not in a git repository"},
    "controller_host": "ctl-7",
    "operator": "alice",
    "approvers": [{"by": "bob", "at": "2026-10-05T09:00:04.000Z", "via": "approve"}],
    "journal": {"file": "journal.jsonl", "head": HEAD, "events": 42, "signature": None},
}


def _lower_bound_result(lower_bound: bool) -> dict[str, Any]:
    result = _result(provenance=PROVENANCE)
    result["measured"] = {**result["measured"], "rpo_s": 3.0, "lost_writes": 2}
    result["data"] = [{"probe": "ledger@web1", "rpo_s": 3.0, "rpo_lower_bound": lower_bound}]
    return result


def test_markdown_and_html_show_every_provenance_fact_and_the_reasons_for_unknowns() -> None:
    result = _result(provenance=PROVENANCE)
    for text in (markdown.render(result), html.render(result)):
        assert "Provenance" in text
        for fact in (HEAD, "aa" * 32, "ctl-7", "alice", "0.1.0", "bob at 2026-10-05T09:00:04.000Z"):
            assert fact in text
        assert "unknown (the playbook is not in a git repository)" in text
        assert "unknown (no inventory file: the implicit localhost)" in text


def test_junit_properties_carry_the_provenance_and_leave_out_unknowns() -> None:
    root = ET.fromstring(junit.render(_result(provenance=PROVENANCE)).split("\n", 1)[1])
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["provenance.journal_head"] == HEAD
    assert props["provenance.approver.1"] == "bob at 2026-10-05T09:00:04.000Z"
    assert props["provenance.git_reason"] == "the playbook is not in a git repository"
    assert "provenance.git_commit" not in props  # null is not written as "None"


def test_a_result_without_provenance_says_it_was_not_recorded() -> None:
    assert "Provenance: not recorded by the drillctl that ran" in markdown.render(_result())


def test_markdown_with_provenance_stays_under_60_lines_for_200_steps() -> None:
    result = {**_two_hundred_steps(), "provenance": PROVENANCE}
    assert len(markdown.render(result).splitlines()) < 60


def test_a_lower_bound_rpo_is_shown_as_one_in_markdown_html_and_junit() -> None:
    bound, exact = _lower_bound_result(True), _lower_bound_result(False)
    assert "| RPO | 0.00 s | ≥ 3.00 s |" in markdown.render(bound)
    assert "≥ 3.00 s" not in markdown.render(exact) and "3.00 s" in markdown.render(exact)
    assert "≥ 3.00 s" in html.render(bound) and "≥ 3.00 s" not in html.render(exact)
    assert "measured ≥ 3.00 s" in junit.render(bound)
    assert "≥" not in junit.render(exact)


def _outcome(lower_bound: bool) -> DrillOutcome:
    loss = DataLoss(
        "ledger@lab1", (1,), (2, 3), (), (), (), (), (), 2, 3.0, 1.0, 4.0, lower_bound, ()
    )
    return DrillOutcome(
        status="failed",
        reason="RPO missed",
        phases=(),
        started_at="2026-10-05T09:00:00.000Z",
        ended_at="2026-10-05T09:00:09.000Z",
        started_mono=0.0,
        ended_mono=9.0,
        rolled_back=False,
        rollback_succeeded=None,
        trigger=None,
        figures=DrillFigures(data=(loss,)),
    )


def test_the_terminal_shows_a_lower_bound_rpo_as_one(tmp_path: Path) -> None:
    playbook_path = tmp_path / "d.yml"
    playbook_path.write_text("drill: d\nrollback_type: 2\nverify:\n  - command: 'true'\n")
    playbook, _ = load_playbook(str(playbook_path))
    shown = {}
    for bound in (True, False):
        stream = io.StringIO()
        print_summary(
            TerminalView(SecretMask(), stream=stream), _outcome(bound), tmp_path, playbook
        )
        shown[bound] = next(
            line for line in stream.getvalue().splitlines() if line.strip().startswith("RPO")
        )
    assert shown[True].split() == ["RPO", "≥", "3.00s"]
    assert shown[False].split() == ["RPO", "3.00s"]
