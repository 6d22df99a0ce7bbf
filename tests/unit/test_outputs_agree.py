"""Every output of one run tells the same story: the exit code, result.json, the result
rebuilt from journal.jsonl, report.md, report.html, junit.xml and the history's row (and the
quarterly figures made from it).

Each drill runs in this process against a fake target (tests/fakes), one per outcome the
product must tell apart: passed, a failed change rolled back, a failed rollback or verify, a
fault not reverted, an objective missed or not measured, a rollback that ran no step or went
over its budget, interrupts, unreachable hosts, a dead probe worker. The checks are the same
for all: a run that did not pass is nowhere a pass, and a figure that was not measured is
nowhere a number, a `met` or a zero.
"""

from __future__ import annotations

import errno
import io
import json
import re
import signal
import types
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

import runner.connections.pool
import runner.engine.drill
import runner.engine.phases
import runner.run.evidence
from runner.cli import main
from runner.errors import ExitCode
from runner.history import open_store
from runner.history.quarter import Quarter
from runner.history.rebuild import rebuild_result
from runner.measure.probes import ProbeRunner
from runner.notify.messages import figures_line
from runner.playbook.loader import load_playbook
from runner.report import quarterly
from runner.report.metrics import render_prometheus
from runner.report.quarterly_html import render as render_html
from runner.report.quarterly_md import render as render_markdown
from runner.results.codec import result_json
from runner.results.result_json import measurements
from runner.run.console import TerminalView
from runner.run.summary import print_summary
from runner.secrets import SecretMask
from runner.verify_run import verify_run
from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import FakeClock, InProcessRun, Signals, run_drill, write_inventory

EXIT = {"passed": 0, "failed": 1, "error": 3, "interrupted": 130}
FIGURES = (
    "time_to_detect_s",
    "time_to_decide_s",
    "time_to_rollback_s",
    "rto_s",
    "downtime_s",
    "lost_writes",
    "rpo_s",
)


def drill(
    deploy: str = "{name: change, shell: ok change}",
    rollback: str = "{name: undo, shell: ok undo}",
    verify: str = "{name: check, shell: ok check}",
    head: str = "",
    inject: str = "",
    rollback_type: int = 2,
) -> str:
    return (
        f"drill: agree\nrollback_type: {rollback_type}\n{head}"
        f"deploy:\n  - {deploy}\n{inject}"
        f"rollback:\n  - {rollback}\n"
        f"verify:\n  - {verify}\n"
        "cleanup:\n  - {name: tidy, shell: ok tidy}\n"
    )


FAULT = (
    "inject:\n  - name: f\n    fault: {{kind: custom, name: f, inject: 'fault-on f', "
    "revert: '{revert}', check: 'fault-check f'}}\n"
)
PROBE = (
    "probes:\n  health: {command: 'fault-check svc', every: 50ms, healthy_after: 2}\n"
    "triggers:\n  - {probe: health, consecutive_failures: 1}\n"
    "prepare:\n  - {name: baseline, shell: fault-on svc}\n"
)
WATCHED = "{name: watched, shell: hang watched, timeout: 5s}"


def probed(objectives: str, restore: str = "fault-on svc") -> str:
    """The change breaks the service (marker svc); the probe fires; the rollback restores it
    (or, with another `restore`, does not)."""
    return drill(
        deploy=WATCHED,
        rollback=f"{{name: restore, shell: {restore}}}",
        head=objectives + PROBE,
    )


@dataclass(frozen=True)
class Case:
    """One outcome: the drill, how the target behaves, and the status it must end in."""

    text: str
    status: str
    setup: Callable[[FakeTarget, Signals, FakeClock], None] | None = None
    request: dict[str, Any] = field(default_factory=dict)
    hosts: tuple[str, ...] = ()
    unreachable: tuple[str, ...] = ()
    dead_probe: bool = False  # the probe's thread dies after its first samples


def break_service(target: FakeTarget, signals: Signals, clock: FakeClock) -> None:
    def clear(call: Call) -> None:
        with target._lock:
            target.faults_on.discard("svc")

    target.on("watched", clear)


def interrupt(times: int, step: str = "change") -> Callable[[FakeTarget, Signals, FakeClock], None]:
    def setup(target: FakeTarget, signals: Signals, clock: FakeClock) -> None:
        def send(call: Call) -> None:
            for _ in range(times):
                signals.send(signal.SIGINT)

        target.on(step, send)

    return setup


def slow_rollback(target: FakeTarget, signals: Signals, clock: FakeClock) -> None:
    target.on("undo", lambda call: clock.advance(61.0))


SKIP = ", when: false}"
# Fail on the inventory's h1 only (its `bad` variable).
BAD_UNDO = "{name: undo, shell: \"{{ 'fail' if bad else 'ok' }} undo\"}"
BAD_CHANGE = "{name: change, shell: \"{{ 'fail' if bad else 'ok' }} change\"}"
CASES = {
    "passed": Case(drill(), "passed"),
    "deploy-failed-rolled-back-verified": Case(
        drill(deploy="{name: change, shell: fail change}"), "passed"
    ),
    "rollback-failed": Case(drill(rollback="{name: undo, shell: fail undo}"), "failed"),
    "verify-failed": Case(drill(verify="{name: check, shell: fail check}"), "failed"),
    "fault-revert-failed": Case(drill(inject=FAULT.format(revert="ok nothing")), "failed"),
    "fault-reverted": Case(drill(inject=FAULT.format(revert="fault-off f")), "passed"),
    "rto-met": Case(probed("objectives: {rto: 60s}\n"), "passed", break_service),
    "rto-missed": Case(probed("objectives: {rto: 10ms}\n"), "failed", break_service),
    "rto-never-healthy": Case(
        probed("objectives: {rto: 60s}\n", restore="ok restore"), "failed", break_service
    ),
    "objectives-without-probes": Case(drill(head="objectives: {rto: 30s, rpo: 0s}\n"), "failed"),
    "rollback-over-budget": Case(drill(rollback_type=1), "failed", slow_rollback),
    "rollback-steps-all-skipped": Case(
        drill(rollback="{name: undo, shell: ok undo" + SKIP), "failed"
    ),
    "every-step-skipped": Case(
        drill(
            deploy="{name: change, shell: ok change" + SKIP,
            rollback="{name: undo, shell: ok undo" + SKIP,
            verify="{name: check, shell: ok check" + SKIP,
        ),
        "failed",
    ),
    "ignore-errors": Case(
        drill(deploy="{name: change, shell: fail change, ignore_errors: true}"), "passed"
    ),
    "rollback-type-5": Case(drill(rollback_type=5), "passed", request={"allow_irreversible": True}),
    "interrupted-once": Case(
        drill(deploy="{name: change, shell: hang change}"), "interrupted", interrupt(1)
    ),
    "interrupted-twice": Case(
        drill(deploy="{name: change, shell: hang change}"), "interrupted", interrupt(2)
    ),
    "fault-inject-failed": Case(
        drill(
            inject=FAULT.format(revert="fault-off f").replace(
                "inject: 'fault-on f'", "inject: 'fail f'"
            )
        ),
        "passed",
    ),
    "interrupted-in-rollback": Case(
        drill(rollback="{name: undo, shell: hang undo, timeout: 2s}"),
        "interrupted",
        interrupt(1, "undo"),
    ),
    "interrupted-twice-in-rollback": Case(
        drill(rollback="{name: undo, shell: hang undo, timeout: 2s}"),
        "interrupted",
        interrupt(2, "undo"),
    ),
    "verify-until-never-met": Case(
        drill(verify="{name: check, shell: fail check, retries: 2, delay: 0, until: 'false'}"),
        "failed",
    ),
    "rollback-when-failure-nothing-failed": Case(drill(head="rollback_when: failure\n"), "passed"),
    "tags-select-no-change-step": Case(
        drill(verify="{name: check, shell: ok check, tags: [only]}"),
        "failed",
        request={"tags": ("only",)},
    ),
    "probe-thread-died": Case(
        probed("objectives: {rto: 60s}\n"), "error", break_service, dead_probe=True
    ),
    "all-hosts-unreachable": Case(drill(), "error", hosts=("h1", "h2"), unreachable=("h1", "h2")),
    "one-host-unreachable-within-max-fail": Case(
        drill(head="max_fail_percentage: 50\n"), "error", hosts=("h1", "h2"), unreachable=("h1",)
    ),
    "rollback-failed-on-a-tolerated-host": Case(
        drill(head="max_fail_percentage: 50\n", rollback=BAD_UNDO), "failed", hosts=("h1", "h2")
    ),
    "change-failed-on-a-tolerated-host": Case(
        drill(head="max_fail_percentage: 50\n", deploy=BAD_CHANGE), "passed", hosts=("h1", "h2")
    ),
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The drill's clock for phase durations: moved by the steps, and by the test."""
    import time as real_time

    fake = FakeClock(real_time.monotonic())

    def monotonic() -> float:
        return fake.now + (real_time.monotonic() - start)

    start = real_time.monotonic()
    for module in (runner.engine.drill, runner.engine.phases):
        monkeypatch.setattr(module, "time", types.SimpleNamespace(monotonic=monotonic))
    return fake


def kill_probe_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe's sampling raises after two samples: its thread dies mid-drill."""
    sample = ProbeRunner._sample
    taken = []

    def dying(self: ProbeRunner, instance: Any) -> None:
        taken.append(1)
        if len(taken) > 2:
            raise RuntimeError("probe killed by the test")
        sample(self, instance)

    monkeypatch.setattr(ProbeRunner, "_sample", dying)


def run_case(case: Case, tmp_path: Path, clock: FakeClock) -> InProcessRun:
    target, signals = FakeTarget(), Signals()
    if case.setup is not None:
        case.setup(target, signals, clock)
    request = dict(case.request)
    if case.hosts:
        hosts = {h: {"bad": h == "h1"} for h in case.hosts}
        request["inventories"] = (write_inventory(tmp_path, hosts),)
        target.unreachable = set(case.unreachable)
    return run_drill(case.text, tmp_path, target, signals, **request)


def terminal_summary(run: InProcessRun, tmp_path: Path) -> str:
    view = TerminalView(SecretMask(), stream=io.StringIO())
    playbook, _ = load_playbook(tmp_path / "drill.yml")
    print_summary(view, run.outcome, run.run_dir, playbook)
    stream = view.stream
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def final_event(run: InProcessRun) -> dict[str, Any]:
    [final] = [e for e in run.events() if e["event"] in ("run_finished", "interrupted")]
    return final


def junit_status_case(run: InProcessRun) -> ET.Element:
    root = ET.parse(run.run_dir / "junit.xml").getroot()
    [case] = [c for c in root.iter("testcase") if c.get("name") == "drill status"]
    return case


def history_row(run: InProcessRun, tmp_path: Path) -> Any:
    with open_store(tmp_path / "history.db") as store:
        row, _ = store.import_run(run.run_dir)
    return row


SHARED = (
    "status",
    "reason",
    "rolled_back",
    "rollback_succeeded",
    "measured",
    "objectives",
    "faults",
    "phases",
    "steps",
    "trigger",
    "rollback_type",
    "budget_s",
    "started_at",
    "ended_at",
    "duration_s",
    "timeline",
    "data",
    "availability",
)


@pytest.mark.parametrize("name", list(CASES))
def test_every_output_of_a_run_tells_the_same_story(
    name: str, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    if case.dead_probe:
        kill_probe_thread(monkeypatch)
    run = run_case(case, tmp_path, clock)
    result = run.result()
    status = result["status"]
    assert status == case.status, result["reason"]
    # The exit code, the outcome and the journal's final event.
    assert run.exit_code == EXIT[status] == int(ExitCode(EXIT[status]))
    assert run.outcome.status == status
    final = final_event(run)
    assert (final["event"] == "interrupted") == (status == "interrupted")
    assert (final["status"], final["reason"]) == (status, result["reason"])
    # The result rebuilt from the journal judges the run as the runner did.
    rebuilt = result_json(rebuild_result(run.events()))
    for key in SHARED:
        assert rebuilt[key] == result[key], key
    for key in ("rto", "rpo", "budget"):
        assert rebuilt["verdicts"][key] == result["verdicts"][key], key
    assert rebuilt["issues"] == result["issues"]
    # Reports: the headline, the final validation, the overall junit testcase.
    md = (run.run_dir / "report.md").read_text()
    html = (run.run_dir / "report.html").read_text()
    headline = re.search(r"^## \S+ (\w+) — ", md, re.M)
    assert headline is not None and headline.group(1) == status.upper()
    assert ("Final validation</th><td>Pass<" in html) == (status == "passed")
    verdict = junit_status_case(run)
    bad = [c.tag for c in verdict if c.tag in ("failure", "error")]
    assert bad == ([] if status == "passed" else ["error" if status == "error" else "failure"])
    cases = {
        c.get("name"): c for c in ET.parse(run.run_dir / "junit.xml").getroot().iter("testcase")
    }
    for key in ("rto", "rpo", "budget"):
        said = result["verdicts"][key]
        tags = [c.tag for c in cases[key] if c.tag in ("failure", "skipped", "error")]
        expected = {
            "missed": ["failure"],
            "not measured": ["failure"],
            "met": [],
            None: ["skipped"],
        }
        assert tags == expected[said], (key, said)
    rolled = "no"
    if result["rolled_back"]:
        rolled = "yes, succeeded" if result["rollback_succeeded"] else "yes, **failed**"
    assert f"**Rolled back:** {rolled}" in md
    if result["rolled_back"]:
        said = "succeeded" if result["rollback_succeeded"] else "FAILED"
        assert f" — rollback {said}</td>" in html
    # The history's row.
    row = history_row(run, tmp_path)
    assert (row.status, row.reason) == (status, result["reason"])
    assert (row.rolled_back, row.rollback_succeeded) == (
        result["rolled_back"],
        result["rollback_succeeded"],
    )
    assert (row.verdict_rto, row.verdict_rpo, row.verdict_budget) == (
        result["verdicts"]["rto"],
        result["verdicts"]["rpo"],
        result["verdicts"]["budget"],
    )
    measured = result["measured"]
    for figure in FIGURES:
        assert getattr(row, figure) == measured[figure], figure
    assert_unmeasured_is_nowhere_a_number(result, md)
    assert_rollback_success_is_proven(result)
    # The terminal's closing summary, as `drillctl run` prints it after the run.
    summary = terminal_summary(run, tmp_path)
    assert summary.splitlines()[1] == f"{status.upper()}: {result['reason']}"
    if status != "passed":
        assert "PASSED" not in summary
    took = re.search(r"time to roll back  (\S+)", summary)
    if took is not None:
        assert (took.group(1) == "n/a") == (measured["time_to_rollback_s"] is None), summary
    if measured["lost_writes"] is None and "lost writes" in summary:
        assert "lost writes       n/a" in summary
    # The evidence checks as `drillctl verify` reads it.
    assert verify_run(run.run_dir).ok
    # With result.json gone, the history imports what the journal proves: the same row.
    (run.run_dir / "result.json").unlink()
    with open_store(tmp_path / "rebuilt.db") as store:
        again, _ = store.import_run(run.run_dir)
    assert again.source == "journal"
    for key in ROW_FIELDS:
        assert getattr(again, key) == getattr(row, key), key


ROW_FIELDS = (
    "status",
    "reason",
    "rolled_back",
    "rollback_succeeded",
    "verdict_budget",
    "trigger_kind",
    *FIGURES,
)


def assert_unmeasured_is_nowhere_a_number(result: dict[str, Any], md: str) -> None:
    """A null figure has its reason, and no verdict or report line turns it into a value."""
    measured, verdicts, objectives = result["measured"], result["verdicts"], result["objectives"]
    for figure in FIGURES:
        if measured[figure] is None and figure != "time_to_rollback_s":
            assert figure in measured["reasons"], figure
    for key in ("rto", "rpo"):
        if measured[f"{key}_s"] is None:
            expected = None if objectives[f"{key}_s"] is None else "not measured"
            assert verdicts[key] == expected, key
    if measured["time_to_rollback_s"] is None:
        assert verdicts["budget"] is None
    if measured["lost_writes"] is None:
        assert re.search(r"^\| Lost writes \| .* \| not measured \|", md, re.M), md
        assert not re.search(r"\b0 lost writes\b", md)
    if result["status"] != "passed":
        assert result["issues"][0]["kind"] == "run"


def assert_rollback_success_is_proven(result: dict[str, Any]) -> None:
    """`rollback_succeeded` true only for a rollback that failed on no host, did something
    (a step ran on a host, or a fault was reverted) and left no fault in effect."""
    if not result["rolled_back"]:
        assert result["rollback_succeeded"] is None
        return
    ran = any(s["phase"] == "rollback" and s["status"] not in ("skipped",) for s in result["steps"])
    stuck = any(f["revert_failed"] for f in result["faults"])
    failed_on_a_host = any(
        s["phase"] == "rollback" and s["status"] in ("failed", "unreachable", "interrupted")
        for s in result["steps"]
    )
    if not (ran or result["faults"]):
        # Nothing was rolled back: no time to roll back, and no budget it could meet.
        assert result["measured"]["time_to_rollback_s"] is None
        assert result["verdicts"]["budget"] is None
    if result["rollback_succeeded"]:
        assert not failed_on_a_host, "a rollback that failed on a host is no success"
        assert ran or result["faults"], "a rollback that ran no step is no success"
        assert not stuck, "a fault still in effect is no successful rollback"


def test_the_quarterly_figures_count_no_failed_or_empty_rollback_as_a_success(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Three runs in one history: a passed rollback, one that ran no step, one that left a
    fault in effect. Only the first is a rollback success."""
    names = ("passed", "rollback-steps-all-skipped", "fault-revert-failed")
    rows = []
    for name in names:
        (tmp_path / name).mkdir()
        run = run_case(CASES[name], tmp_path / name, clock)
        rows.append(history_row(run, tmp_path))
    quarter = Quarter.of_timestamp(rows[0].started_at)
    assert quarter is not None
    report = quarterly.build(quarter, rows, [])
    assert report.total.by_status == {"failed": 2, "passed": 1}
    assert (report.total.rollback_success.hits, report.total.rollback_success.total) == (1, 3)


def test_loss_no_run_measured_is_nowhere_a_zero_in_the_quarterly_or_the_metrics(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Runs without a data probe: the quarterly's data-loss column and the Prometheus loss
    counters say nothing of their loss; once every run measured it, they say 0."""
    run = run_case(CASES["passed"], tmp_path, clock)
    row = history_row(run, tmp_path)
    assert row.lost_writes is None
    quarter = Quarter.of_timestamp(row.started_at)
    assert quarter is not None
    for rows, shown in (([row], None), ([replace(row, lost_writes=0)], 0)):
        report = quarterly.build(quarter, rows, [])
        assert report.total.lost_writes == shown
        assert report.total.data_loss_incidents == shown
        md = render_markdown(report)
        [line] = [x for x in md.splitlines() if x.startswith("| **all components** | 1 |")]
        assert line.split(" | ")[5] == ("not measured" if shown is None else "0"), line
        html = render_html(report)
        row_html = re.search(r"<tr><td><b>all components</b></td>.*?</tr>", html)
        assert row_html is not None
        cells = re.findall(r"<td>(.*?)</td>", row_html.group(0))
        assert cells[5] == ("not measured" if shown is None else "0"), cells
        metrics = render_prometheus(rows)
        for name in ("drillctl_lost_writes_total", "drillctl_data_loss_runs_total"):
            samples = [x for x in metrics.splitlines() if x.startswith(name + "{")]
            assert samples == ([] if shown is None else [f'{name}{{component=""}} 0'])


@pytest.mark.parametrize("name", ["passed", "rto-met", "deploy-failed-rolled-back-verified"])
def test_a_run_whose_journal_ends_before_its_verdict_is_nowhere_a_pass(
    name: str, tmp_path: Path, clock: FakeClock
) -> None:
    """The runner died before it judged the run: the journal stops before `run_measured`
    and `run_finished`. What is rebuilt from it, and the history's row, is an error with its
    objectives unjudged, never the pass the run was heading for."""
    run = run_case(CASES[name], tmp_path, clock)
    assert run.result()["status"] == "passed", run.result()["reason"]
    journal = run.run_dir / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    [cut] = [i for i, line in enumerate(lines) if '"event":"run_measured"' in line.replace(" ", "")]
    journal.write_text("".join(lines[:cut]))
    for leftover in ("result.json", "report.md", "report.html", "junit.xml"):
        (run.run_dir / leftover).unlink()
    row = history_row(run, tmp_path)
    assert (row.source, row.status) == ("journal", "error")
    assert "the runner stopped before the end" in str(row.reason)
    assert (row.verdict_rto, row.verdict_rpo, row.objective_rto_s) == (None, None, None)
    assert row.lost_writes is None and row.rpo_s is None


@pytest.mark.parametrize("name", ["passed", "rollback-steps-all-skipped", "fault-revert-failed"])
def test_the_last_notification_gives_the_figures_result_json_gives(
    name: str, tmp_path: Path, clock: FakeClock
) -> None:
    """The complete/failure message is chosen by the run's status and carries its figures,
    taken before result.json is written: they must be the ones result.json then holds."""
    run = run_case(CASES[name], tmp_path, clock)
    result = run.result()
    sent = measurements(run.outcome)
    for figure in FIGURES:
        assert sent[figure] == result["measured"][figure], figure
    took = result["measured"]["time_to_rollback_s"]
    line = figures_line(sent)
    assert ("time to roll back not measured" in line) == (took is None), line


@pytest.mark.parametrize("name", ["passed", "rollback-failed"])
def test_a_run_whose_evidence_cannot_be_written_is_an_environment_error_still_in_the_history(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The disk fills as result.json is written. The run is no crash (a traceback, exit 1,
    whatever the drill did) and no run missing from the history: exit 3 saying where the
    journal is, and the history records the verdict that journal proves."""
    target = FakeTarget()
    monkeypatch.setattr(runner.connections.pool, "default_factories", target.factories)

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner.run.evidence, "write_json", disk_full)
    playbook = tmp_path / "drill.yml"
    playbook.write_text(CASES[name].text)
    out, history = tmp_path / "run", tmp_path / "history.db"
    code = main(["run", str(playbook), "--out", str(out), "--history", str(history)])
    assert code == ExitCode.ENVIRONMENT
    err = capsys.readouterr().err
    assert "could not be written" in err and "No space left on device" in err
    assert not (out / "result.json").exists()
    final = final_of(out)
    with open_store(history) as store:
        [row] = store.runs()
    assert (row.source, row.status, row.reason) == ("journal", final["status"], final["reason"])
    assert row.status == CASES[name].status


def final_of(run_dir: Path) -> dict[str, Any]:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    [final] = [e for e in events if e["event"] in ("run_finished", "interrupted")]
    return final
