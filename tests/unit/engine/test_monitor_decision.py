"""The drill's monitor on its own: the rollback decision (automatic, or manual with its
request, its approvers, its timeout and what a timeout means), who approved it for the
provenance, how long probing settles after verify, a trigger's evidence in the journal,
a broken measurement, and the login name an approval is given under.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from runner.engine import monitor
from runner.engine.interrupts import Interrupts
from runner.engine.monitor import APPROVALS_DIR, DecisionRecord, DrillMonitor
from runner.journal import JOURNAL_NAME, Journal, read_events
from runner.measure.samples import AvailabilitySample
from runner.measure.specs import TriggerRule
from runner.measure.triggers import Fired
from runner.playbook.model import Decision, Playbook
from runner.provenance import Approval
from runner.secrets import SecretMask
from runner.templating.templar import Templar

SECRET = "pw-81f0c2"


class Built:
    """A monitor for a playbook without probes or triggers, and what it said and did."""

    def __init__(self, tmp_path: Path, decision: Decision | None = None) -> None:
        self.run_dir = tmp_path / "run"
        self.run_dir.mkdir()
        playbook = Playbook(path="drill.yml", drill="d", rollback_type=2)
        if decision is not None:
            playbook = Playbook(**{**playbook.__dict__, "decision": decision})
        plan = SimpleNamespace(
            playbook=playbook, host_vars={"web1": {"run_dir": str(self.run_dir)}}, probe_hosts={}
        )
        self.journal = Journal(self.run_dir / JOURNAL_NAME, SecretMask([SECRET]))
        self.interrupts = Interrupts(lambda _: None)
        self.notices: list[str] = []
        self.fired: list[Fired] = []
        self.broken: list[str] = []
        self.monitor = DrillMonitor(
            plan,  # type: ignore[arg-type]
            Templar(),
            self.journal,
            None,  # type: ignore[arg-type]
            self.interrupts,
            self.fired.append,
            self.notices.append,
            self.broken.append,
        )

    def approved_by(self, *who: str) -> list[str]:
        """Approval files as `drillctl approve` leaves them; their times, in order."""
        folder = self.run_dir / APPROVALS_DIR
        folder.mkdir(exist_ok=True)
        times = []
        for i, name in enumerate(who):
            at = f"2026-12-01T10:00:0{i}.000Z"
            (folder / f"{i:03d}.json").write_text(json.dumps({"operator": name, "at": at}))
            times.append(at)
        return times

    def events(self, kind: str) -> list[dict[str, Any]]:
        self.journal.close()
        return [e for e in read_events(self.run_dir / JOURNAL_NAME) if e["event"] == kind]


@pytest.mark.parametrize(
    ("decision", "detected"),
    [
        pytest.param(Decision(), 5.0, id="decision-auto"),
        pytest.param(Decision(manual=True, timeout_s=0.1), None, id="manual-but-nothing-detected"),
    ],
)
def test_an_automatic_decision_is_taken_at_once_without_asking(
    tmp_path: Path, decision: Decision, detected: float | None
) -> None:
    built = Built(tmp_path, decision)
    before = time.monotonic()
    record = built.monitor.decide(detected)
    assert record == DecisionRecord("auto", record.decided_mono)
    assert before <= record.decided_mono <= time.monotonic()
    assert built.notices == [] and built.events("decision_requested") == []


def test_a_manual_decision_asks_and_takes_the_approvers_in_order(tmp_path: Path) -> None:
    built = Built(tmp_path, Decision(manual=True, timeout_s=30, on_timeout="abort", approvers=3))
    times = built.approved_by("alice", "bob", "carol")
    before = time.monotonic()
    record = built.monitor.decide(1.0)
    assert before <= record.decided_mono <= time.monotonic()
    approvals = tuple(
        Approval(who, at, "approve")
        for who, at in zip(("alice", "bob", "carol"), times, strict=True)
    )
    assert record == DecisionRecord(
        "manual",
        record.decided_mono,
        approved_by="alice, bob, carol",
        approved_at=times[-1],
        approved_via="approve",
        approvals=approvals,
    )
    assert built.notices == [
        "rollback needs 3 approvals from distinct operators: type 'rollback' here, or run "
        f"`drillctl approve {built.run_dir}` (times out in 30s, then abort)"
    ]
    assert [
        (e["timeout_s"], e["on_timeout"], e["approvers"])
        for e in built.events("decision_requested")
    ] == [(30, "abort", 3)]
    assert built.monitor.approvals(record) == approvals


def test_a_decision_without_its_own_timeout_waits_fifteen_minutes(tmp_path: Path) -> None:
    built = Built(tmp_path, Decision(manual=True))
    built.approved_by("alice")
    record = built.monitor.decide(1.0)
    assert (record.mode, record.approved_by, record.timed_out) == ("manual", "alice", False)
    assert built.notices[0].endswith("(times out in 900s, then rollback)")
    assert built.notices[0].startswith("rollback needs approval: ")
    assert [e["timeout_s"] for e in built.events("decision_requested")] == [900]


@pytest.mark.parametrize(
    ("on_timeout", "proceed"), [pytest.param("abort", False), pytest.param("rollback", True)]
)
def test_a_quorum_not_reached_in_time_does_what_on_timeout_says(
    tmp_path: Path, on_timeout: str, proceed: bool
) -> None:
    built = Built(
        tmp_path, Decision(manual=True, timeout_s=0.1, on_timeout=on_timeout, approvers=2)
    )
    (at,) = built.approved_by("alice")
    before = time.monotonic()
    record = built.monitor.decide(1.0)
    assert record == DecisionRecord(
        "manual",
        record.decided_mono,
        timed_out=True,
        proceed=proceed,
        approvals=(Approval("alice", at, "approve"),),
    )
    assert before + 0.1 <= record.decided_mono <= time.monotonic()
    assert built.notices[1:] == [f"no decision within 0.1s (1 of 2 approvals): {on_timeout}"]


def test_no_approval_at_all_in_time_says_only_that(tmp_path: Path) -> None:
    built = Built(tmp_path, Decision(manual=True, timeout_s=0.05, on_timeout="abort"))
    record = built.monitor.decide(1.0)
    assert (record.timed_out, record.proceed, record.approvals) == (True, False, ())
    assert built.notices[1:] == ["no decision within 0.05s: abort"]


def test_the_provenance_lists_who_approved(tmp_path: Path) -> None:
    approvals = (Approval("alice", "t1", "approve"),)
    approve = Built(tmp_path).monitor.approvals
    assert approve(None) == ()
    assert approve(DecisionRecord("auto", 1.0)) == ()
    assert approve(DecisionRecord("manual", 1.0, approvals=approvals)) == approvals
    # A record from before approvals were kept one by one: its approver, when and how.
    old = DecisionRecord(
        "manual", 1.0, approved_by="bob", approved_at="t2", approved_via="terminal"
    )
    assert approve(old) == (Approval("bob", "t2", "terminal"),)


def probe(healthy_after: int, every_s: float, is_data: bool = False) -> Any:
    return SimpleNamespace(
        spec=SimpleNamespace(healthy_after=healthy_after), every_s=every_s, is_data=is_data
    )


def test_probing_settles_for_the_longest_healthy_streak_and_ten_seconds_at_most(
    tmp_path: Path,
) -> None:
    watched = Built(tmp_path).monitor
    assert watched.settle_s() == 0.0  # no probe: nothing to wait for
    watched.probes.instances = [probe(3, 0.5), probe(1, 1.5), probe(50, 1.0, is_data=True)]
    assert watched.settle_s() == 3.0  # (1 + 1) * 1.5; (3 + 1) * 0.5; a data probe not at all
    watched.probes.instances = [probe(30, 1.0)]
    assert watched.settle_s() == 10.0


def test_stopping_settles_then_marks_the_end_of_verify_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = Built(tmp_path).monitor
    monkeypatch.setattr(watched, "settle_s", lambda: 0.2)
    started = time.monotonic()
    watched.stop()
    took = time.monotonic() - started
    assert 0.2 <= took < 0.9
    ended = watched.verify_ended
    assert ended is not None and started + 0.2 <= ended <= time.monotonic()
    watched.stop()  # harmless twice: the end of verify stays
    assert watched.verify_ended == ended


def test_an_interrupt_ends_the_settling_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = Built(tmp_path)
    monkeypatch.setattr(built.monitor, "settle_s", lambda: 5.0)
    built.interrupts.trip("SIGINT")
    started = time.monotonic()
    built.monitor.stop()
    assert time.monotonic() - started < 2.0
    assert built.monitor.verify_ended is not None


def test_triggers_are_armed_when_the_change_begins(tmp_path: Path) -> None:
    watched = Built(tmp_path).monitor
    before = time.monotonic()
    watched.change_begins()
    assert watched.deploy_started is not None
    assert before <= watched.deploy_started <= time.monotonic()
    assert watched.watch.armed_at == watched.deploy_started


def test_a_broken_measurement_is_said_and_passed_on(tmp_path: Path) -> None:
    built = Built(tmp_path)
    built.monitor._broken("probe health@web1 hung")
    assert built.notices == ["measurement broken: probe health@web1 hung"]
    assert built.broken == ["probe health@web1 hung"]


def test_why_the_probes_evidence_cannot_be_trusted_names_every_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = Built(tmp_path).monitor
    assert watched.probe_failure() == ""
    monkeypatch.setattr(watched.probes, "failure", lambda: "probe worker died")
    monkeypatch.setattr(watched.alerts, "failure", lambda: "alert poller hung")
    assert watched.probe_failure() == "probe worker died; alert poller hung"


def test_a_fired_trigger_journals_its_evidence_then_rolls_back(tmp_path: Path) -> None:
    built = Built(tmp_path)
    rule = TriggerRule("consecutive_failures", probe="health", consecutive_failures=2)
    long_error = f"refused: {SECRET} " + "x" * 200
    samples = (
        AvailabilitySample("health@web1", 12.123456789, False, None, long_error),
        AvailabilitySample("health@web1", 13.5, True, 0.25),
    )
    fired = Fired(rule, "health@web1", 13.5, "2 consecutive failures", samples)
    built.monitor._fired(fired)
    assert built.fired == [fired]
    (evidence,) = built.events("trigger_evidence")
    head = ("refused: ******** " + "x" * 200)[:120]
    assert (evidence["probe"], evidence["rule"]) == (
        "health@web1",
        "health: 2 consecutive failures",
    )
    assert evidence["samples"] == [[12.123457, False, None, head], [13.5, True, 0.25, ""]]


def test_an_approval_is_given_under_the_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice-login")
    assert monitor._user() == "alice"
    monkeypatch.delenv("USER")
    assert monitor._user() == "alice-login"
    monkeypatch.delenv("LOGNAME")
    assert monitor._user() == "operator"


def wired(tmp_path: Path, host_vars: dict[str, dict[str, Any]]) -> tuple[Built, Any]:
    """A monitor for a probe `health` on every host, a data probe `orders` on web1, a
    trigger on `health` and an alert trigger, over `host_vars`."""
    from runner.inventory.model import Host
    from runner.measure.specs import DataCall, DataProbe, ProbeSpec

    health = ProbeSpec("health", request="check {{ port }}", every_s=0.5)
    data_call = DataCall("shell", "write {{ port }}", 1.0)
    orders = ProbeSpec("orders", kind="data", data=DataProbe(data_call, data_call))
    rules = (
        TriggerRule("consecutive_failures", probe="health", consecutive_failures=1),
        TriggerRule("alert", alert="Down", source="prometheus", url="http://{{ prom }}/api"),
    )
    hosts = {
        name: Host(name, "127.0.0.1", "local", None, None, v, ()) for name, v in host_vars.items()
    }
    built = Built.__new__(Built)
    built.run_dir = tmp_path
    playbook = Playbook(
        path="drill.yml",
        drill="d",
        rollback_type=2,
        probes={"health": health, "orders": orders},
        triggers=rules,
    )
    plan = SimpleNamespace(
        playbook=playbook,
        host_vars=host_vars,
        probe_hosts={"health": list(hosts.values()), "orders": [hosts["web1"]]},
    )
    built.journal = Journal(tmp_path / JOURNAL_NAME, SecretMask())
    built.interrupts = Interrupts(lambda _: None)
    built.notices, built.fired, built.broken = [], [], []
    templar = Templar()
    built.monitor = DrillMonitor(
        plan,  # type: ignore[arg-type]
        templar,
        built.journal,
        "the pool",  # type: ignore[arg-type]
        built.interrupts,
        built.fired.append,
        built.notices.append,
        built.broken.append,
    )
    return built, templar


def test_each_probe_runs_on_each_of_its_hosts_with_that_hosts_variables(tmp_path: Path) -> None:
    web1, web2 = {"port": 8080, "prom": "prom1", "run_dir": "/runs/r1"}, {"port": 9090}
    built, templar = wired(tmp_path, {"web1": web1, "web2": web2})
    probes = built.monitor.probes
    assert [(i.label, i.request, i.variables) for i in probes.instances] == [
        ("health@web1", "check 8080", web1),
        ("health@web2", "check 9090", web2),
        ("orders@web1", None, web1),  # a data probe renders its calls per write
    ]
    assert (probes.pool, probes.templar, probes.journal) == ("the pool", templar, built.journal)
    # An alert trigger belongs to the drill: its URL is rendered with the first host's vars.
    assert [(w.rule.alert, w.url) for w in built.monitor.alerts.watches] == [
        ("Down", "http://prom1/api")
    ]
    assert built.monitor.alerts.journal is built.journal
    assert built.monitor.run_dir == Path("/runs/r1")
    assert (built.monitor.deploy_started, built.monitor.verify_ended) == (None, None)


def test_without_a_run_dir_variable_approvals_are_looked_for_here(tmp_path: Path) -> None:
    built, _ = wired(tmp_path, {"web1": {"port": 1, "prom": "p"}})
    assert built.monitor.run_dir == Path(".")


def test_samples_and_alert_polls_reach_the_triggers_and_fire_the_rollback(tmp_path: Path) -> None:
    built, _ = wired(tmp_path, {"web1": {"port": 1, "prom": "p"}})
    watched = built.monitor
    watched.change_begins()
    t = time.monotonic() + 1
    listener = watched.probes.listener
    assert listener is not None
    listener(AvailabilitySample("health@web1", t, False, None, "refused"))
    assert [f.probe for f in built.fired] == ["health@web1"]
    built.fired.clear()
    watched.watch.fired = None  # let the alert trigger fire too
    (watch,) = watched.alerts.watches
    watched.alerts.observe(watch.rule, AvailabilitySample("alert:Down", t + 1, False, None))
    assert [f.rule.kind for f in built.fired] == ["alert"]


def test_a_dead_probe_worker_or_alert_poller_breaks_the_measurement(tmp_path: Path) -> None:
    built, _ = wired(tmp_path, {"web1": {"port": 1, "prom": "p"}})
    built.monitor.probes.failures.record("health@web1", "died: OSError")
    built.monitor.alerts.failures.record("Down", "hung")
    assert built.broken == ["probe worker health@web1 died: OSError", "alert poller Down hung"]
    assert built.notices == [
        "measurement broken: probe worker health@web1 died: OSError",
        "measurement broken: alert poller Down hung",
    ]


def test_an_alert_url_renders_without_any_host(tmp_path: Path) -> None:
    from runner.engine.monitor import alert_watches

    rule = TriggerRule(
        "alert", alert="Down", source="prometheus", url="http://{{ prom | default('p:9090') }}"
    )
    playbook = Playbook(path="drill.yml", drill="d", rollback_type=2, triggers=(rule,))
    plan = SimpleNamespace(playbook=playbook, host_vars={})
    (watch,) = alert_watches(plan, Templar())  # type: ignore[arg-type]
    assert watch.url == "http://p:9090"


def test_a_drill_without_hosts_looks_for_approvals_here(tmp_path: Path) -> None:
    plan = SimpleNamespace(
        playbook=Playbook(path="drill.yml", drill="d", rollback_type=2),
        host_vars={},
        probe_hosts={},
    )
    journal = Journal(tmp_path / JOURNAL_NAME, SecretMask())
    watched = DrillMonitor(
        plan,  # type: ignore[arg-type]
        Templar(),
        journal,
        None,  # type: ignore[arg-type]
        Interrupts(lambda _: None),
        lambda fired: None,
        lambda text: None,
    )
    journal.close()
    assert watched.run_dir == Path(".")


class Terminal:
    """A terminal whose operator types `rollback`."""

    def isatty(self) -> bool:
        return True

    def __iter__(self) -> Any:
        yield "rollback\n"


def test_approvals_given_both_ways_name_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "carol")
    monkeypatch.setattr("sys.stdin", Terminal())
    built = Built(tmp_path, Decision(manual=True, timeout_s=30, approvers=2))
    built.approved_by("alice")
    record = built.monitor.decide(1.0)
    assert sorted(record.approved_by.split(", ")) == ["alice", "carol (terminal)"]
    assert sorted(record.approved_via.split(", ")) == ["approve", "terminal"]
