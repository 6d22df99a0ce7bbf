"""The quarterly report tells the truth: incidents apart from drills, voided runs listed but
never counted, evidence links that open, and when and by which drillctl it was made."""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from runner import __version__
from runner.errors import InputError
from runner.history import open_store
from runner.history.migrations import LATEST
from runner.report import quarterly, quarterly_html, quarterly_md
from runner.report.metrics import render_prometheus
from tests.unit.test_quarterly import Q4, run


def result(run_id: str, **extra: Any) -> dict[str, Any]:
    """A result.json-shaped run of 2026Q4."""
    return {
        "schema_version": 1,
        "run_id": run_id,
        "drill": "gw drill",
        "component": "gateway",
        "status": "passed",
        "reason": "ok",
        "started_at": "2026-11-02T10:00:00.000Z",
        "measured": {"time_to_rollback_s": 10.0, "time_to_decide_s": 2.0, "lost_writes": 0},
        "rolled_back": True,
        "rollback_succeeded": True,
        **extra,
    }


# -- drills and incidents ------------------------------------------------------------------


def test_incidents_are_figured_apart_from_drills() -> None:
    runs = [
        run("d1"),
        run("d2", time_to_decide_s=20 * 60.0),  # a slow decision in a rehearsal
        run("i1"),
    ]
    runs[2] = type(runs[2])(**{**runs[2].__dict__, "kind": "incident"})
    report = quarterly.build(Q4, runs, [], generated_at="2026-12-01T00:00:00Z")
    assert report.total.runs == 2 and [c.runs for c in report.components] == [2]
    assert report.incidents is not None and report.incidents.runs == 1
    drills = {t.name: t.met for t in report.targets}
    real = {t.name: t.met for t in report.incident_targets}
    assert drills["time to decision (slowest)"] is False
    assert real["time to decision (slowest)"] is True
    text = quarterly_md.render(report)
    assert "## Real incidents" in text and "1 real incident" in text


def test_a_quarter_of_drills_only_says_no_incident_was_judged() -> None:
    report = quarterly.build(Q4, [run("d1")], [])
    assert report.incidents is None and report.incident_targets == ()
    assert "None recorded this quarter" in quarterly_md.render(report)
    assert "None recorded this quarter" in quarterly_html.render(report)


# -- voided runs ---------------------------------------------------------------------------


def test_a_voided_run_is_listed_with_its_reason_and_counted_nowhere(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with open_store(db) as store:
        store.record(result("good"), None)
        store.record(result("bad", status="failed", reason="wrong lab"), None)
        row = store.void("bad", "ran against the wrong lab", "alice")
        assert (row.voided, row.void_reason, row.voided_by) == (
            True,
            "ran against the wrong lab",
            "alice",
        )
        runs = store.runs(Q4)
    report = quarterly.build(Q4, runs, [])
    assert report.total.runs == 1 and report.total.by_status == {"passed": 1}
    assert report.failed == ()
    [voided] = report.voided
    assert (voided.run_id, voided.reason, voided.voided_by) == (
        "bad",
        "ran against the wrong lab",
        "alice",
    )
    text = quarterly_md.render(report)
    assert "## Voided runs" in text and "ran against the wrong lab" in text
    assert "ran against the wrong lab" in quarterly_html.render(report)
    metrics = render_prometheus(runs)
    assert 'status="failed"' not in metrics and 'status="passed"' in metrics


def test_a_void_survives_re_recording_the_run(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.db") as store:
        store.record(result("r"), None)
        store.void("r", "test of drillctl itself", "bob")
        assert store.record(result("r"), None) == "replaced"
        stored = store.get("r")
        assert stored is not None and stored.row.void_reason == "test of drillctl itself"


@pytest.mark.parametrize(
    ("run_id", "reason", "message"),
    [
        ("nope", "why", "no run 'nope'"),
        ("r", "  ", "say why the run is void"),
    ],
)
def test_voiding_needs_a_known_run_and_a_reason(
    tmp_path: Path, run_id: str, reason: str, message: str
) -> None:
    with open_store(tmp_path / "h.db") as store:
        store.record(result("r"), None)
        with pytest.raises(InputError, match=message):
            store.void(run_id, reason, "alice")


def test_a_run_is_voided_once(tmp_path: Path) -> None:
    with open_store(tmp_path / "h.db") as store:
        store.record(result("r"), None)
        store.void("r", "first reason", "alice")
        with pytest.raises(InputError, match="already voided"):
            store.void("r", "second reason", "bob")
        stored = store.get("r")
        assert stored is not None and stored.row.void_reason == "first reason"


def test_a_version_1_history_gains_kind_and_void_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with open_store(db) as store:
        store.record(result("r", kind="incident"), None)
    con = sqlite3.connect(db)
    con.execute("DELETE FROM schema_migrations WHERE version > 1")
    for column in ("kind", "voided_at", "void_reason", "voided_by", "journal_head"):
        con.execute(f"ALTER TABLE runs DROP COLUMN {column}")
    con.commit()
    con.close()
    with open_store(db) as store:
        assert store.version == LATEST
        [row] = store.runs()
    assert (row.kind, row.voided) == ("drill", False)  # what every run was before


# -- evidence links --------------------------------------------------------------------------


def _failed_run_in(run_dir: Path) -> Any:
    return run("bad", status="failed", run_dir=str(run_dir))


@pytest.mark.parametrize(
    ("files", "opens"),
    [
        (("report.html", "result.json", "journal.jsonl"), "report.html"),
        (("journal.jsonl",), "journal.jsonl"),  # rebuilt from its journal: no report.html
    ],
)
def test_evidence_links_open_the_file_from_where_the_report_is_written(
    tmp_path: Path, files: tuple[str, ...], opens: str
) -> None:
    run_dir = tmp_path / "drills" / "runs" / "run #1 (gateway)"
    run_dir.mkdir(parents=True)
    for name in files:
        (run_dir / name).write_text("evidence")
    reports = tmp_path / "reports"
    reports.mkdir()
    report = quarterly.build(Q4, [_failed_run_in(run_dir)], [], link_base=reports)
    [failed] = report.failed
    assert failed.evidence is not None and failed.evidence.name == opens
    assert not failed.evidence.missing
    href = failed.evidence.href
    assert href is not None and not os.path.isabs(href) and " " not in href and "#" not in href
    assert (reports / urllib.parse.unquote(href)).resolve() == (run_dir / opens).resolve()
    assert f'<a href="{href}">{opens}</a>' in quarterly_html.render(report)
    assert f"[{opens}](<{href}>)" in quarterly_md.render(report)


def test_evidence_that_is_gone_is_marked_missing(tmp_path: Path) -> None:
    report = quarterly.build(Q4, [_failed_run_in(tmp_path / "moved")], [], link_base=tmp_path)
    [failed] = report.failed
    assert failed.evidence is not None and failed.evidence.missing
    assert "(missing)" in quarterly_md.render(report)


# -- when and by what ----------------------------------------------------------------------


def test_every_format_says_when_and_by_which_drillctl_it_was_made() -> None:
    report = quarterly.build(Q4, [run("a")], [], generated_at="2026-12-01T08:00:00Z")
    made = f"Made 2026-12-01T08:00:00Z by drillctl {__version__}."
    assert made in quarterly_md.render(report)
    assert made in quarterly_html.render(report)
    data = json.loads(json.dumps(quarterly.to_json(report)))
    assert (data["generated_at"], data["drillctl_version"]) == ("2026-12-01T08:00:00Z", __version__)
    assert quarterly.build(Q4, [run("a")], []).generated_at.endswith("Z")
