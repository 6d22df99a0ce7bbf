"""Quarterly figures, drill plan status and the metrics export, on synthetic runs."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from runner.errors import InputError
from runner.history.quarter import Quarter
from runner.history.rows import RunRow, flatten
from runner.plans.model import load_plan
from runner.plans.status import plan_status
from runner.report import quarterly, quarterly_html, quarterly_md
from runner.report.metrics import render_prometheus
from runner.results.assemble import limit_verdict as verdict

Q4 = Quarter(2026, 4)


def run(
    run_id: str,
    *,
    component: str = "gateway",
    status: str = "passed",
    started_at: str = "2026-11-02T10:00:00.000Z",
    rolled_back: bool = True,
    rollback_succeeded: bool | None = True,
    trigger: dict[str, Any] | None = None,
    plan_entry: str | None = None,
    run_dir: str | None = None,
    playbook: str = "playbooks/gw.yml",
    **measured: Any,
) -> RunRow:
    """A recorded run as the history gives it back, built from a result.json-shaped dict."""
    figures = {
        "time_to_detect_s": 1.0,
        "time_to_decide_s": 2.0,
        "time_to_rollback_s": 10.0,
        "rto_s": 20.0,
        "downtime_s": 15.0,
        "lost_writes": 0,
        "rpo_s": 0.0,
        **measured,
    }
    result = {
        "schema_version": 1,
        "run_id": run_id,
        "drill": f"{component} drill",
        "component": component,
        "playbook": playbook,
        "inventory": "inventories/local.yml",
        "status": status,
        "reason": f"{status} because",
        "started_at": started_at,
        "rollback_type": 2,
        "objectives": {"rto_s": 60.0, "rpo_s": 0.0},
        "measured": figures,
        "verdicts": {
            "rto": verdict(figures["rto_s"], 60.0),
            "rpo": verdict(figures["rpo_s"], 0.0),
            "budget": "met",
        },
        "rolled_back": rolled_back,
        "rollback_succeeded": rollback_succeeded if rolled_back else None,
        "trigger": trigger or {"kind": "probe", "detail": "health: 3 consecutive failures"},
    }
    return flatten(result, Path(run_dir) if run_dir else None, plan_entry=plan_entry)


# -- percentiles ---------------------------------------------------------------------------


def test_spread_gives_p50_p90_max_and_mean_by_linear_interpolation() -> None:
    s = quarterly.spread([float(v) for v in range(1, 11)])
    assert (s.count, s.p50, s.p90, s.max, s.mean) == (10, 5.5, 9.1, 10.0, 5.5)


def test_spread_of_one_value_is_that_value_and_unmeasured_runs_are_left_out() -> None:
    assert quarterly.spread([None, 4.0, None]) == quarterly.Spread(1, 4.0, 4.0, 4.0, 4.0)
    assert quarterly.spread([None, None]) == quarterly.Spread(0, None, None, None, None)


def test_one_slow_rollback_shows_in_p90_and_max_not_only_in_the_mean() -> None:
    runs = [run(f"r{i}", time_to_rollback_s=10.0) for i in range(9)]
    runs.append(run("slow", time_to_rollback_s=1000.0))
    f = quarterly.figures("gateway", runs)
    assert f.rollback.p50 == 10.0
    assert f.rollback.p90 == pytest.approx(109.0)
    assert f.rollback.max == 1000.0


# -- per component -------------------------------------------------------------------------


def test_attainment_counts_an_objective_set_but_not_measured_as_not_met() -> None:
    runs = [run("a", rto_s=30.0), run("b", rto_s=90.0), run("c", rto_s=None)]
    f = quarterly.figures("gateway", runs)
    assert (f.rto_attainment.hits, f.rto_attainment.total) == (1, 3)
    assert f.rto_attainment.value == round(1 / 3, 4)


def test_attainment_leaves_out_runs_that_set_no_objective() -> None:
    unjudged = run("c", rto_s=None)
    unjudged = replace(unjudged, objective_rto_s=None, verdict_rto=None)
    f = quarterly.figures("gateway", [run("a", rto_s=30.0), unjudged])
    assert (f.rto_attainment.hits, f.rto_attainment.total) == (1, 1)


def test_rollback_success_and_data_loss_incidents() -> None:
    runs = [
        run("ok"),
        run("broken", status="failed", rollback_succeeded=False),
        run("lossy", lost_writes=3, rpo_s=1.5),
        run("no-rollback", rolled_back=False),
    ]
    f = quarterly.figures("gateway", runs)
    assert (f.rollback_success.hits, f.rollback_success.total) == (2, 3)
    assert f.data_loss_runs == ("lossy",)
    assert f.lost_writes == 3


def test_repeat_rollbacks_are_the_same_component_and_cause_more_than_once() -> None:
    flag = {"kind": "step_failed", "detail": "smoke test failed"}
    runs = [
        run("a1"),
        run("a2"),
        run("a3"),
        run("b1", trigger=flag),
        run("other-component", component="orders"),
        run("rehearsal-1", trigger={"kind": "rehearsal", "detail": "rollback_when: always"}),
        run("rehearsal-2", trigger={"kind": "rehearsal", "detail": "rollback_when: always"}),
    ]
    [repeat] = quarterly.repeats(runs)
    assert repeat == quarterly.Repeat(
        "gateway", "probe: health: 3 consecutive failures", ("a1", "a2", "a3")
    )
    assert quarterly.figures("all", runs).repeat_rollbacks == 2


# -- targets and the previous quarter ------------------------------------------------------


def _targets(report: quarterly.QuarterlyReport) -> dict[str, bool | None]:
    return {t.name: t.met for t in report.targets}


def test_targets_are_met_by_a_clean_quarter() -> None:
    report = quarterly.build(Q4, [run("a"), run("b", component="orders")], [])
    assert set(_targets(report).values()) == {True}


def test_targets_missed_by_a_slow_decision_a_slow_rollback_loss_and_repeats() -> None:
    runs = [
        run("a", time_to_decide_s=16 * 60.0, time_to_rollback_s=40 * 60.0, lost_writes=1),
        run("b", rollback_succeeded=False, status="failed", time_to_rollback_s=25 * 60.0),
    ]
    met = _targets(quarterly.build(Q4, runs, []))
    assert met == {
        "rollback success": False,
        "data-loss incidents": False,
        "repeat rollbacks": False,
        "time to decision (slowest)": False,
        "time to complete the rollback (average)": False,
    }


def test_no_data_loss_incident_is_claimed_while_a_run_did_not_measure_its_loss() -> None:
    unmeasured = run("blind", lost_writes=None)
    loss = "data-loss incidents"
    assert _targets(quarterly.build(Q4, [run("a"), unmeasured], []))[loss] is None
    assert _targets(quarterly.build(Q4, [run("a"), run("b")], []))[loss] is True
    # A loss found is an incident whatever the other runs measured.
    lossy = run("lossy", lost_writes=2)
    assert _targets(quarterly.build(Q4, [lossy, unmeasured], []))[loss] is False


def test_a_quarter_without_runs_judges_no_target() -> None:
    report = quarterly.build(Q4, [], [])
    assert set(_targets(report).values()) == {None}
    assert report.total.runs == 0


def test_comparison_with_the_previous_quarter() -> None:
    previous = [
        run(f"p{i}", time_to_rollback_s=30.0, started_at="2026-08-01T00:00:00Z") for i in range(4)
    ]
    current = [run("c1", time_to_rollback_s=10.0), run("c2", time_to_rollback_s=20.0)]
    report = quarterly.build(Q4, current, previous)
    changes = {c.metric: (c.previous, c.current) for c in report.changes}
    assert report.previous_quarter == "2026Q3" and report.previous_runs == 4
    assert changes["runs"] == (4.0, 2.0)
    assert changes["time to roll back mean"] == (30.0, 15.0)
    no_history = {c.metric: c.previous for c in quarterly.build(Q4, current, []).changes}
    assert set(no_history.values()) == {None}


def test_failed_drills_link_to_their_report_relative_to_the_report_file() -> None:
    runs = [run("ok"), run("bad", status="failed", run_dir="/srv/drills/runs/bad")]
    report = quarterly.build(Q4, runs, [], link_base=Path("/srv/drills/reports"))
    [failed] = report.failed
    assert (failed.run_id, failed.report) == ("bad", "../runs/bad/report.html")


def test_quarterly_json_is_plain_and_deterministic() -> None:
    runs = [run("a"), run("b", component="orders", status="failed")]
    first = json.dumps(quarterly.to_json(quarterly.build(Q4, runs, [])), sort_keys=True)
    second = json.dumps(quarterly.to_json(quarterly.build(Q4, runs, [])), sort_keys=True)
    assert first == second
    data = json.loads(first)
    assert data["quarter"] == "2026Q4"
    assert [c["component"] for c in data["components"]] == ["gateway", "orders"]
    assert data["total"]["repeat_rollbacks"] == 0


# -- quarters ------------------------------------------------------------------------------


def test_quarters_parse_and_step_back_across_the_year() -> None:
    assert Quarter.parse("2026Q1").previous() == Quarter(2025, 4)
    assert Quarter.of_timestamp("2026-12-31T23:59:59.999Z") == Q4
    assert (Q4.first_day, Q4.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    with pytest.raises(ValueError, match="like 2026Q4"):
        Quarter.parse("2026Q5")


# -- drill plans ---------------------------------------------------------------------------

INVENTORY = "inventories/local.yml"
PLAN = "quarter: 2026Q4\ndrills:\n" + "".join(
    f"  - {{id: {i}, playbook: pb/{i}.yml, inventory: {INVENTORY}, owner: {owner}, due: {due}}}\n"
    for i, owner, due in (
        ("gw", "team-a", "2026-11-01"),
        ("orders", "team-b", "2026-12-01"),
        ("flags", "team-c", "2026-10-15"),
        ("late", "team-d", "2026-11-10"),
    )
)


def test_plan_status_done_failed_overdue_pending(tmp_path: Path) -> None:
    path = tmp_path / "2026Q4.yml"
    path.write_text(PLAN)
    plan = load_plan(path, check_files=False)
    runs = [
        run(
            "gw-1",
            status="failed",
            plan_entry="2026Q4/gw",
            playbook="pb/gw.yml",
            started_at="2026-10-20T00:00:00Z",
        ),
        run(
            "gw-2", plan_entry="2026Q4/gw", started_at="2026-10-30T00:00:00Z", playbook="pb/gw.yml"
        ),
        run("flags-1", status="failed", plan_entry="2026Q4/flags", playbook="pb/flags.yml"),
        # Started by hand (not through `drill run`): listed, but it does not make it done.
        run("late-1", playbook="pb/late.yml"),
    ]
    status = {s.entry_id: s for s in plan_status(plan, runs, today=date(2026, 11, 20))}
    assert {k: s.state for k, s in status.items()} == {
        "gw": "done",
        "orders": "pending",
        "flags": "failed",
        "late": "overdue",
    }
    assert status["flags"].overdue and not status["orders"].overdue
    assert (status["gw"].runs, status["gw"].last_run_id, status["gw"].done_by) == (
        2,
        "gw-2",
        "gw-2",
    )
    assert not status["gw"].late
    assert (status["late"].runs, status["late"].unplanned_runs) == (0, 1)
    after_due = plan_status(plan, [], today=date(2026, 12, 2))
    assert {s.state for s in after_due} == {"overdue"}


def _plan(tmp_path: Path) -> Any:
    path = tmp_path / "2026Q4.yml"
    path.write_text(PLAN)
    return load_plan(path, check_files=False)


def test_a_failed_or_voided_run_never_makes_an_entry_done(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    failed = run("gw-1", status="failed", plan_entry="2026Q4/gw", playbook="pb/gw.yml")
    voided = replace(
        run("gw-2", plan_entry="2026Q4/gw", playbook="pb/gw.yml"),
        voided_at="2026-11-05T00:00:00Z",
        void_reason="wrong lab",
    )
    [gw, *_] = plan_status(plan, [failed, voided], today=date(2026, 10, 20))
    assert (gw.state, gw.runs, gw.done_by) == ("failed", 1, None)


def test_a_passed_run_after_the_due_date_is_done_but_late(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    on_time = run(
        "a", plan_entry="2026Q4/gw", playbook="pb/gw.yml", started_at="2026-11-01T23:00:00Z"
    )
    late = run("b", plan_entry="2026Q4/gw", playbook="pb/gw.yml", started_at="2026-11-02T00:00:00Z")
    assert not plan_status(plan, [on_time], today=date(2026, 12, 1))[0].late
    [gw, *_] = plan_status(plan, [late], today=date(2026, 12, 1))
    assert (gw.state, gw.late, gw.overdue) == ("done", True, False)


def test_a_run_under_the_entry_counts_only_with_its_files_by_resolved_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plan = _plan(tmp_path)
    (tmp_path / "pb").mkdir()
    (tmp_path / "pb" / "gw.yml").write_text("drill: gw\n")
    (tmp_path / "alias.yml").symlink_to(tmp_path / "pb" / "gw.yml")
    spelled_otherwise = [
        run("a", plan_entry="2026Q4/gw", playbook="./pb/../pb/gw.yml"),
        run("b", plan_entry="2026Q4/gw", playbook=str(tmp_path / "alias.yml")),
    ]
    [gw, *_] = plan_status(plan, spelled_otherwise, today=date(2026, 10, 20))
    assert (gw.state, gw.runs) == ("done", 2)
    other_playbook = run("c", plan_entry="2026Q4/gw", playbook="pb/other.yml")
    [gw, *_] = plan_status(plan, [other_playbook], today=date(2026, 10, 20))
    assert (gw.state, gw.runs) == ("pending", 0)


def test_plan_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "plan.yml"
    path.write_text(
        textwrap.dedent(
            """\
            quarter: 2026Q4
            drills:
              - {id: a, playbook: pb.yml, inventory: inv.yml, owner: me, due: 2026-02-30}
              - {id: a, playbook: pb.yml, inventory: inv.yml, owner: me, due: 2026-11-01}
              - {id: b, playbook: pb.yml, inventory: inv.yml, owner: me, due: soon, ownr: x}
            """
        )
    )
    with pytest.raises(InputError) as caught:
        load_plan(path, check_files=False)
    messages = [str(d) for d in caught.value.diagnostics]
    assert any(":3:" in m and "not a calendar date" in m for m in messages), messages
    assert any(":4:" in m and "listed twice" in m for m in messages), messages
    assert any(":5:" in m and "a date like 2026-12-15" in m for m in messages), messages
    assert any(":5:" in m and "'ownr'" in m for m in messages), messages


def test_the_sample_plan_lists_the_local_lab_playbooks() -> None:
    plan = load_plan(Path(__file__).resolve().parents[2] / "drills/2026Q4.yml", check_files=False)
    assert plan.quarter == Q4
    assert {e.inventory for e in plan.entries} == {"inventories/local.yml"}
    ports = [e.extra_vars["lab_port"] for e in plan.entries if "lab_port" in e.extra_vars]
    assert len(ports) == len(set(ports)) >= 3


# -- metrics -------------------------------------------------------------------------------

_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
_SAMPLE = re.compile(
    rf"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{{{_LABEL}(,{_LABEL})*\}})? "
    r"(?P<value>[-+]?(\d+(\.\d+)?([eE][-+]?\d+)?|Inf|NaN))$"
)


def test_prometheus_output_parses_and_declares_every_family() -> None:
    runs = [
        run("a", component='we"ird\\comp'),
        run("b", status="failed", lost_writes=2),
        run("c", component="orders", rto_s=None),
    ]
    text = render_prometheus(runs, "2026Q4")
    declared: dict[str, str] = {}
    samples: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            declared[name] = kind
            continue
        match = _SAMPLE.match(line)
        assert match, f"not exposition format: {line!r}"
        name = match["name"]
        family = re.sub(r"_(sum|count)$", "", name) if name not in declared else name
        assert family in declared, f"{name} has no TYPE line before it"
        samples.setdefault(family, []).append(line)
    assert declared["drillctl_rollback_seconds"] == "summary"
    assert declared["drillctl_runs_total"] == "counter"
    rollback = samples["drillctl_rollback_seconds"]
    assert (
        'drillctl_rollback_seconds{quarter="2026Q4",component="gateway",quantile="0.9"} 10'
        in rollback
    )
    assert any(s.startswith("drillctl_rollback_seconds_count{") for s in rollback)
    assert 'drillctl_lost_writes_total{quarter="2026Q4",component="gateway"} 2' in text
    assert 'component="we\\"ird\\\\comp"' in text
    assert text.endswith("\n")


# -- rendering -----------------------------------------------------------------------------


def _report_with_everything() -> quarterly.QuarterlyReport:
    runs = [
        run("a"),
        run("b"),
        run("<script>", component="<b>orders</b>", status="failed", run_dir="/r/x"),
    ]
    previous = [run("p", started_at="2026-08-01T00:00:00Z")]
    return quarterly.build(Q4, runs, previous, link_base=Path("/r"))


def test_markdown_report_has_targets_components_comparison_and_failed_links() -> None:
    text = quarterly_md.render(_report_with_everything())
    for heading in (
        "## Targets",
        "## Per component",
        "## Compared with 2026Q3",
        "## Failed drills",
    ):
        assert heading in text
    assert "[report.html](<x/report.html>)" in text
    assert "<script>" not in text and "<b>" not in text
    assert "| rollback success | 100 % | 100.0 % | ✅ met |" in text


def test_html_report_is_self_contained_with_inline_svg_charts() -> None:
    text = quarterly_html.render(_report_with_everything())
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("<svg") == 2
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert "&lt;b&gt;orders&lt;/b&gt;" in text
    assert '<a href="x/report.html">' in text
