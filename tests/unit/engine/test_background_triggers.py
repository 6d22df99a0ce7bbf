"""Rollbacks started from the background: a probe or an alert trigger firing, and a probe
worker or alert poller dying, while the change runs.

Each drill runs in this process against a fake target (tests/fakes). A command probe checks
the fake target's marker `svc` (set: healthy); the test clears it from inside a change step,
so the probe fails while that step runs. Alert polls are replaced by the test's own answers.
A trigger that fires stops the running change step and starts the rollback; a dead worker
does too, since a change nobody watches must not go on, and the run then ends as an error.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import runner.measure.alerts
from runner.engine.monitor import DrillMonitor
from runner.measure.samples import AvailabilitySample
from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import InProcessRun, Signals, run_drill, write_inventory

WAIT_S = 5.0
HOST = "ops@web1"  # an `@` in the host: the probe's name is what comes before the first one


def probe_playbook(hosts: str = "") -> str:
    """A command probe on the marker `svc`, a trigger on its first failure, and a change whose
    step `watched` waits (up to the fake target's limit) to be stopped."""
    return (
        "drill: a probe trigger\nrollback_type: 2\n"
        f"probes:\n  health: {{command: 'fault-check svc', every: 50ms{hosts}}}\n"
        "triggers:\n  - {probe: health, consecutive_failures: 1}\n"
        "prepare:\n  - {name: baseline, shell: fault-on svc}\n"
        "deploy:\n  - {name: watched, shell: hang watched, timeout: 5s}\n"
        "  - {name: after, shell: ok after}\n"
        "inject:\n  - {name: chaos, shell: ok chaos}\n"
        "rollback:\n  - {name: restore, shell: fault-on svc}\n"
        "verify:\n  - {name: healthy, shell: fault-check svc}\n"
    )


def alert_playbook(change_phase: str = "deploy") -> str:
    """An alert trigger polled every 50 ms; the change step `watched` is in `change_phase`."""
    text = (
        "drill: an alert trigger\nrollback_type: 2\n"
        "triggers:\n"
        "  - {alert: LabDown, prometheus: 'http://127.0.0.1:9', every: 50ms, timeout: 1s}\n"
        "prepare:\n  - {name: baseline, shell: ok baseline}\n"
    )
    for phase in ("deploy", "inject"):
        step = "hang watched, timeout: 5s" if phase == change_phase else f"ok {phase}-step"
        name = "watched" if phase == change_phase else f"{phase}-step"
        text += f"{phase}:\n  - {{name: {name}, shell: {step}}}\n"
    return text + (
        "rollback:\n  - {name: restore, shell: ok restore}\n"
        "verify:\n  - {name: healthy, shell: ok healthy}\n"
    )


class Alerts:
    """The alert poller's answers: quiet until the test says `firing` or `die`."""

    def __init__(self) -> None:
        self.mode = "quiet"
        self.polled = threading.Event()  # a poll answered after the mode last changed

    def set(self, mode: str) -> None:
        self.polled.clear()
        self.mode = mode

    def poll(self, watch: Any, t: float) -> AvailabilitySample:
        mode = self.mode
        if mode == "die":
            self.polled.set()
            raise RuntimeError("poller killed by the test")
        self.polled.set()
        if mode == "firing":
            return AvailabilitySample(watch.label, t, False, 0.001, "LabDown is firing")
        return AvailabilitySample(watch.label, t, True, 0.001, "")


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> Alerts:
    answers = Alerts()
    monkeypatch.setattr(runner.measure.alerts, "poll", answers.poll)
    return answers


@pytest.fixture
def reacted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, threading.Event]]:
    """Set once the drill has been told of a trigger that fired ('fired') or of a worker
    that died ('broken'), and has returned from handling it."""
    events = {"fired": threading.Event(), "broken": threading.Event()}
    fired, broken = DrillMonitor._fired, DrillMonitor._broken

    def on_fired(self: DrillMonitor, *args: Any) -> None:
        fired(self, *args)
        events["fired"].set()

    def on_broken(self: DrillMonitor, why: str) -> None:
        broken(self, why)
        events["broken"].set()

    monkeypatch.setattr(DrillMonitor, "_fired", on_fired)
    monkeypatch.setattr(DrillMonitor, "_broken", on_broken)
    yield events


def trigger_events(run: InProcessRun) -> list[dict[str, Any]]:
    return [e for e in run.events() if e["event"] == "trigger_fired"]


def step_msg(run: InProcessRun, phase: str, step: str) -> str:
    result = run.outcome.phases
    [found] = [
        h.msg
        for p in result
        if p.phase == phase
        for s in p.steps
        if s.step.name == step
        for h in s.hosts
    ]
    return found


def assert_dated_within_the_run(run: InProcessRun, at: str, mono: float) -> None:
    outcome = run.outcome
    assert isinstance(at, str) and outcome.started_at <= at <= outcome.ended_at
    assert isinstance(mono, float) and outcome.started_mono <= mono <= outcome.ended_mono


# -- a probe trigger --------------------------------------------------------------------------


def test_a_failing_probe_stops_the_change_and_starts_the_rollback(
    tmp_path: Path, reacted: dict[str, threading.Event]
) -> None:
    target = FakeTarget()
    inventory = write_inventory(tmp_path, {HOST: {}})

    def break_service(call: Call) -> None:
        with target._lock:
            target.faults_on.discard("svc")

    target.on("watched", break_service)
    run = run_drill(probe_playbook(), tmp_path, target, inventory=inventory)
    assert reacted["fired"].is_set()
    trigger = run.outcome.trigger
    assert trigger is not None
    assert (trigger.kind, trigger.phase, trigger.probe, trigger.host) == (
        "probe",
        "deploy",
        "health",
        HOST,
    )
    assert trigger.detail == "health: 1 consecutive failures"
    [evidence] = [e for e in run.events() if e["event"] == "trigger_evidence"]
    assert evidence["probe"] == f"health@{HOST}"
    # The trigger is dated by the failed sample that fired it.
    assert trigger.mono == pytest.approx(evidence["samples"][-1][0], abs=1e-6)
    assert_dated_within_the_run(run, trigger.at, trigger.mono)
    [journaled] = trigger_events(run)
    assert journaled["kind"] == "probe" and journaled["probe"] == "health"
    assert journaled["host"] == HOST and journaled["detail"] == trigger.detail
    # The change step was stopped, and says why; the rest of the change did not run.
    assert step_msg(run, "deploy", "watched") == (
        "stopped: rollback triggered (health: 1 consecutive failures)"
    )
    assert not target.ran("watched") and not target.ran("after") and not target.ran("chaos")
    assert run.skipped()["inject"] == "rollback started"
    assert "rollback triggered: health: 1 consecutive failures" in run.view.notices
    assert (run.exit_code, run.outcome.status) == (0, "passed")
    assert run.outcome.rolled_back and run.outcome.rollback_succeeded is True


def test_a_probe_that_fails_after_an_interrupt_does_not_replace_it_as_the_trigger(
    tmp_path: Path, reacted: dict[str, threading.Event]
) -> None:
    target = FakeTarget()
    signals = Signals()

    def interrupt_then_break(call: Call) -> None:
        signals.send(signal.SIGINT)
        with target._lock:
            target.faults_on.discard("svc")
        assert reacted["fired"].wait(WAIT_S), "the probe never fired"

    target.on("watched", interrupt_then_break)
    run = run_drill(probe_playbook(), tmp_path, target, signals)
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "interrupt"
    assert [e["kind"] for e in trigger_events(run)] == ["interrupt"]


# -- an alert trigger -------------------------------------------------------------------------


def test_a_firing_alert_stops_the_change_and_starts_the_rollback(
    tmp_path: Path, alerts: Alerts, reacted: dict[str, threading.Event]
) -> None:
    target = FakeTarget()
    target.on("watched", lambda call: alerts.set("firing"))
    run = run_drill(alert_playbook(), tmp_path, target)
    trigger = run.outcome.trigger
    assert trigger is not None
    assert (trigger.kind, trigger.phase, trigger.probe, trigger.host) == (
        "alert",
        "deploy",
        "alert:LabDown",
        "",
    )
    assert trigger.detail == "LabDown is firing"
    assert_dated_within_the_run(run, trigger.at, trigger.mono)
    [journaled] = trigger_events(run)
    assert (journaled["kind"], journaled["probe"], journaled["detail"]) == (
        "alert",
        "alert:LabDown",
        "LabDown is firing",
    )
    assert step_msg(run, "deploy", "watched") == "stopped: rollback triggered (LabDown is firing)"
    assert (run.exit_code, run.outcome.status) == (0, "passed")


# -- a worker that dies -----------------------------------------------------------------------

DIED = "alert poller alert-alert:LabDown died: RuntimeError: poller killed by the test"


@pytest.mark.parametrize("phase", ["deploy", "inject"])
def test_a_poller_that_dies_during_the_change_stops_it_and_the_run_is_an_error(
    tmp_path: Path, alerts: Alerts, reacted: dict[str, threading.Event], phase: str
) -> None:
    target = FakeTarget()
    target.on("watched", lambda call: alerts.set("die"))
    run = run_drill(alert_playbook(phase), tmp_path, target)
    assert reacted["broken"].is_set()
    trigger = run.outcome.trigger
    assert trigger is not None
    assert (trigger.kind, trigger.phase, trigger.detail) == ("probe_failed", phase, DIED)
    assert_dated_within_the_run(run, trigger.at, trigger.mono)
    [journaled] = trigger_events(run)
    assert (journaled["kind"], journaled["phase"], journaled["detail"]) == (
        "probe_failed",
        phase,
        DIED,
    )
    assert step_msg(run, phase, "watched") == f"stopped: rollback triggered ({DIED})"
    assert run.phases_started()[-3:] == ["rollback", "verify", "cleanup"]
    assert (run.exit_code, run.outcome.status) == (3, "error")
    assert DIED in run.outcome.reason


@pytest.mark.parametrize("phase", ["prepare", "verify"])
def test_a_poller_that_dies_outside_the_change_stops_nothing(
    tmp_path: Path, alerts: Alerts, reacted: dict[str, threading.Event], phase: str
) -> None:
    target = FakeTarget()
    step = "baseline" if phase == "prepare" else "healthy"

    def die_and_wait(call: Call) -> None:
        alerts.set("die")
        assert reacted["broken"].wait(WAIT_S), "the poller never died"

    target.on(step, die_and_wait)
    run = run_drill(alert_playbook("none"), tmp_path, target)
    trigger = run.outcome.trigger
    # Nothing was stopped: the rollback is the rehearsal of `rollback_when: always`.
    assert trigger is not None and trigger.kind == "rehearsal"
    assert [e["kind"] for e in trigger_events(run)] == ["rehearsal"]
    assert target.ran(step)
    # The measurement is broken all the same: never a pass.
    assert (run.exit_code, run.outcome.status) == (3, "error")
    assert DIED in run.outcome.reason


def test_a_poller_that_dies_after_an_interrupt_does_not_replace_it_as_the_trigger(
    tmp_path: Path, alerts: Alerts, reacted: dict[str, threading.Event]
) -> None:
    target = FakeTarget()
    signals = Signals()

    def interrupt_then_die(call: Call) -> None:
        signals.send(signal.SIGINT)
        alerts.set("die")
        assert reacted["broken"].wait(WAIT_S), "the poller never died"

    target.on("watched", interrupt_then_die)
    run = run_drill(alert_playbook(), tmp_path, target, signals)
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "interrupt"
    assert [e["kind"] for e in trigger_events(run)] == ["interrupt"]


def test_a_poller_that_dies_after_a_trigger_does_not_replace_it(
    tmp_path: Path, alerts: Alerts, reacted: dict[str, threading.Event]
) -> None:
    target = FakeTarget()

    def fire_then_die(call: Call) -> None:
        alerts.set("firing")
        assert reacted["fired"].wait(WAIT_S), "the alert never fired"
        alerts.set("die")
        assert reacted["broken"].wait(WAIT_S), "the poller never died"

    target.on("watched", fire_then_die)
    run = run_drill(alert_playbook(), tmp_path, target)
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "alert"
    assert [e["kind"] for e in trigger_events(run)] == ["alert"]
    assert (run.exit_code, run.outcome.status) == (3, "error")


def test_a_probe_that_fails_before_the_change_begins_fires_no_trigger(tmp_path: Path) -> None:
    # Triggers watch from the start of deploy: what prepare does to the service (here: it is
    # down for a few probe samples) is the baseline, not an incident.
    target = FakeTarget()

    def checks() -> int:
        return sum(1 for _, word, _ in target.snapshot() if word == "fault-check")

    def down_for_a_while(call: Call) -> None:
        with target._lock:
            target.faults_on.discard("svc")
        seen = checks()
        # Two more checks: the first of them failed and was judged before the second began.
        deadline = time.monotonic() + WAIT_S
        while checks() < seen + 2:
            assert time.monotonic() < deadline, "the probe never checked"
            time.sleep(0.01)
        with target._lock:
            target.faults_on.add("svc")

    target.on("settle", down_for_a_while)
    baseline = "  - {name: baseline, shell: fault-on svc}\n"
    text = (
        probe_playbook()
        .replace(baseline, baseline + "  - {name: settle, shell: ok settle}\n")
        .replace("shell: hang watched, timeout: 5s", "shell: ok watched")
    )
    run = run_drill(text, tmp_path, target)
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "rehearsal"
    assert [e["kind"] for e in trigger_events(run)] == ["rehearsal"]
    assert target.ran("watched") and target.ran("after")
    assert run.exit_code == 0
