"""An alert trigger's poller on a controlled clock: what each poll asks, the trigger sample
each answer becomes (firing a failure, quiet healthy, unanswered unknown, never healthy),
the journal's record of every change of state, and the fixed-rate schedule of the polls,
which skips the slots a slow poll overran."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import runner.measure.alerts as alerts
from runner.journal import Journal
from runner.measure.alerts import AlertPoller, AlertWatch
from runner.measure.prometheus import AlertState, Unanswered
from runner.measure.samples import AvailabilitySample
from runner.measure.specs import TriggerRule
from runner.secrets import SecretMask

URL = "http://127.0.0.1:9090"
FIRING_DETAIL = 'alert LabDown firing in prometheus: {job="lab"}'

# One scripted answer: what the source says (an AlertState, or an exception to raise) and
# how many seconds the poll takes on the controlled clock.
Answer = tuple[AlertState | Exception, float]


class Clock:
    """The module's `time`: a monotonic clock that only the script moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


class Poll:
    """A poller's world: the clock, the scripted source, and a stop token that sleeps on the
    clock and ends the watch once the script is spent (or when `stop_during` is reached)."""

    def __init__(self, answers: list[Answer], stop_during: int | None = None) -> None:
        self.clock = Clock(100.0)
        self.answers = list(answers)
        self.stop_during = stop_during
        self.asked: list[tuple[str, str, str, float]] = []
        self.waits: list[float | None] = []
        self.cancelled = False
        self.spent = threading.Event()  # the script is over: the poller may be stopped
        self.journaled: list[dict[str, Any]] = []  # the journal's dead workers
        self.told: list[str] = []  # what the run was told of a dead poller
        self.threads: list[tuple[str, bool]] = []  # the polling thread: (name, daemon)

    # the stop token (CancelToken's interface)
    def __call__(self) -> Poll:
        return self

    def cancel(self, reason: str = "") -> None:
        self.cancelled = True

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        if self.cancelled or not self.answers:
            self.spent.set()
            return True
        self.clock.now += seconds
        return False

    # the source (alert_state's interface)
    def alert_state(self, source: str, url: str, alert: str, timeout: float) -> AlertState:
        self.asked.append((source, url, alert, timeout))
        thread = threading.current_thread()
        self.threads.append((thread.name, thread.daemon))
        answer, took = self.answers.pop(0)
        self.clock.now += took
        if self.stop_during == len(self.asked):
            self.cancel()
            self.spent.set()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def on_failure(self, why: str) -> None:
        self.told.append(why)
        self.spent.set()


def watch(**rule: Any) -> AlertWatch:
    fields: dict[str, Any] = {
        "kind": "alert",
        "alert": "LabDown",
        "source": "prometheus",
        "url": "{{ prom }}",
        "every_s": 2.0,
        "timeout_s": 1.5,
    }
    return AlertWatch(TriggerRule(**(fields | rule)), URL)


def run(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    script: Poll,
    w: AlertWatch,
    mask: SecretMask | None = None,
) -> tuple[list[tuple[TriggerRule, AvailabilitySample]], list[dict[str, Any]], str]:
    """Watch `w` until the script ends: the samples observed, the journal's alert states
    and the poller's failure summary."""
    monkeypatch.setattr(alerts, "time", script.clock)
    monkeypatch.setattr(alerts, "CancelToken", script)
    monkeypatch.setattr(alerts, "alert_state", script.alert_state)
    journal = Journal(tmp_path / "journal.jsonl", mask or SecretMask())
    seen: list[tuple[TriggerRule, AvailabilitySample]] = []
    observe: Callable[[TriggerRule, AvailabilitySample], None] = lambda r, s: seen.append((r, s))  # noqa: E731
    poller = AlertPoller([w], journal, observe, script.on_failure)
    poller.start()
    assert script.spent.wait(10.0), "the poller never finished its script"
    poller.stop()
    journal.close()
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    events = list(map(json.loads, lines))
    script.journaled = [e for e in events if e["event"] == "probe_worker_died"]
    states = [e for e in events if e["event"] == "alert_state"]
    return seen, states, poller.failure()


def test_each_answer_is_a_trigger_sample_and_each_change_of_state_is_journaled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    refused = "http://127.0.0.1:9090/api/v1/alerts: connection refused"
    script = Poll(
        [
            (AlertState(False, ""), 0.5),
            (AlertState(False, ""), 0.25),
            (AlertState(True, FIRING_DETAIL), 2.0),
            (Unanswered(refused), 4.5),
            (Unanswered(refused), 0.0),
            (AlertState(False, ""), 0.125),
        ]
    )
    w = watch()
    seen, states, failure = run(monkeypatch, tmp_path, script, w)

    assert failure == ""
    assert script.asked == [("prometheus", URL, "LabDown", 1.5)] * 6
    assert all(rule is w.rule for rule, _ in seen)
    unknown = f"unknown: {refused}"
    assert [s for _, s in seen] == [
        AvailabilitySample("alert:LabDown", 100.0, True, 0.5, ""),
        AvailabilitySample("alert:LabDown", 102.0, True, 0.25, ""),
        AvailabilitySample("alert:LabDown", 104.0, False, 2.0, FIRING_DETAIL),
        AvailabilitySample("alert:LabDown", 106.0, False, None, unknown, unknown=True),
        AvailabilitySample("alert:LabDown", 112.0, False, None, unknown, unknown=True),
        AvailabilitySample("alert:LabDown", 114.0, True, 0.125, ""),
    ]
    # The first answer and every change, never a repeat; the unreachable one says why.
    assert [{k: e[k] for k in ("alert", "source", "state", "detail")} for e in states] == [
        {"alert": "LabDown", "source": "prometheus", "state": "quiet", "detail": ""},
        {"alert": "LabDown", "source": "prometheus", "state": "firing", "detail": FIRING_DETAIL},
        {"alert": "LabDown", "source": "prometheus", "state": "unreachable", "detail": unknown},
        {"alert": "LabDown", "source": "prometheus", "state": "quiet", "detail": ""},
    ]


def test_polls_keep_a_fixed_rate_and_a_slow_one_skips_the_slots_it_overran(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Every 2 s from t=100: a poll of exactly one interval is not late (the next one is due
    # at once); one of 4.5 s from 106 overran the slots of 108 and 110, so the next is 112.
    script = Poll(
        [
            (AlertState(False, ""), 0.5),
            (AlertState(False, ""), 0.25),
            (AlertState(False, ""), 2.0),
            (AlertState(False, ""), 4.5),
            (AlertState(False, ""), 0.0),
            (AlertState(False, ""), 0.125),
        ]
    )
    seen, _, _ = run(monkeypatch, tmp_path, script, watch())
    assert [s.t for _, s in seen] == [100.0, 102.0, 104.0, 106.0, 112.0, 114.0]
    assert script.waits == [1.5, 1.75, 0.0, 1.5, 2.0, 1.875]


def test_a_slot_is_as_long_as_the_triggers_interval(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = Poll([(AlertState(False, ""), 0.25), (AlertState(False, ""), 3.5)] * 2)
    seen, _, _ = run(monkeypatch, tmp_path, script, watch(every_s=0.5, source="alertmanager"))
    assert script.asked[0] == ("alertmanager", URL, "LabDown", 1.5)
    # 100.25: next at 100.5; 104.0 overran 101.0 to 104.0, so the next is 104.5.
    assert [s.t for _, s in seen] == [100.0, 100.5, 104.5, 105.0]
    assert script.waits == [0.25, 0.5, 0.25, 0.5]


def test_a_poll_cut_short_by_the_end_of_watching_gives_no_verdict(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = Poll([(AlertState(False, ""), 0.5), (AlertState(True, FIRING_DETAIL), 0.5)], 2)
    seen, states, failure = run(monkeypatch, tmp_path, script, watch())
    assert [s.ok for _, s in seen] == [True]
    assert [e["state"] for e in states] == ["quiet"]
    assert failure == ""


def test_the_journaled_detail_is_masked_and_cut_at_300_characters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    why = "token=hunter2 " + "x" * 400
    script = Poll([(Unanswered(why), 0.5)])
    seen, states, _ = run(monkeypatch, tmp_path, script, watch(), SecretMask(["hunter2"]))
    assert seen[0][1].error == f"unknown: {why}"  # the sample keeps it whole
    detail = states[0]["detail"]
    assert len(detail) == 300
    assert detail.startswith("unknown: token=") and "hunter2" not in detail
    assert detail == SecretMask(["hunter2"]).mask(f"unknown: {why}")[:300]


def test_each_alert_trigger_polls_in_its_own_daemon_thread_named_for_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A daemon thread: a poll that hangs past the end cannot keep drillctl from exiting.
    script = Poll([(AlertState(False, ""), 0.5)])
    run(monkeypatch, tmp_path, script, watch())
    assert script.threads == [("alert-alert:LabDown", True)]


def test_a_poller_that_dies_is_journaled_told_at_once_and_named_in_the_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = Poll([(AlertState(False, ""), 0.5), (RuntimeError("broken on purpose"), 0.5)])
    seen, _, failure = run(monkeypatch, tmp_path, script, watch())
    why = "alert poller alert-alert:LabDown died: RuntimeError: broken on purpose"
    assert failure == why
    assert script.told == [why]
    assert [(e["probe"], e["error"]) for e in script.journaled] == [
        ("alert-alert:LabDown", "died: RuntimeError: broken on purpose")
    ]
    assert len(seen) == 1  # the quiet answer before it; nothing stands for the dead one
