"""Notifications: the plan's checks, the procedure's wording, masking, and bounded delivery
(a fake channel here; tests/integration/notify/ sends through real SMTP and HTTP)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from runner.notify.dispatch import Notifier
from runner.notify.messages import figures_line
from runner.notify.plan import NotifyPlanError, parse_notify
from runner.secrets import SecretMask
from runner.templating.templar import Templar


class Channel:
    """A fake channel: records what it got; can refuse, raise or hang."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.got: list[tuple[str, str, str]] = []
        self.release = threading.Event()

    def __call__(self, url: str, title: str, body: str, timeout_s: float) -> bool:
        if self.mode == "hang" and "slow" in url:
            self.release.wait(30)
        if self.mode == "raise" and "bad" in url:
            raise ConnectionError("connection refused by 127.0.0.1:9")
        if self.mode == "refuse" and "bad" in url:
            return False
        self.got.append((url, title, body))
        return True


def notifier(
    spec: dict[str, Any], send: Channel, secrets: tuple[str, ...] = ()
) -> tuple[Notifier, list[tuple[str, dict[str, Any]]]]:
    mask = SecretMask(secrets)
    records: list[tuple[str, dict[str, Any]]] = []
    base = {"drill": "gw rollback", "component": "order-gateway", "environment": "staging"}
    n = Notifier(
        parse_notify(spec), base, Templar(mask), mask, lambda k, f: records.append((k, f)), send
    )
    return n, records


def test_a_stakeholder_group_naming_an_unknown_channel_is_located() -> None:
    with pytest.raises(NotifyPlanError) as info:
        parse_notify({"channels": {"desk": "json://x"}, "stakeholders": {"Risk": ["dsek"]}})
    assert info.value.path == ("notify", "stakeholders", "Risk", 0)
    assert "'dsek'" in str(info.value) and "desk" in str(info.value)


@pytest.mark.parametrize(
    ("timeout", "ok"), [("0s", False), ("1ms", True), ("5m", True), ("6m", False)]
)
def test_the_delivery_timeout_is_bounded_on_both_sides(timeout: str, ok: bool) -> None:
    spec = {"channels": {"a": "json://x"}, "timeout": timeout}
    if ok:
        assert parse_notify(spec).timeout_s > 0
    else:
        with pytest.raises(NotifyPlanError):
            parse_notify(spec)


def test_the_procedure_stakeholders_no_channel_reaches_are_named() -> None:
    plan = parse_notify(
        {
            "change_kind": "trading",
            "channels": {"desk": "json://x"},
            "stakeholders": {"Trading desk": ["desk"], "Operations": ["desk"]},
        }
    )
    assert plan.unreached() == ("Risk management", "Head of trading", "Compliance")


def test_the_rollback_message_follows_the_procedure_and_names_the_audience() -> None:
    send = Channel()
    n, records = notifier(
        {"channels": {"desk": "json://desk"}, "stakeholders": {"Trading desk": ["desk"]}}, send
    )
    n.event("rollback", reason="health failed 3 times", eta="09:05 UTC")
    n.close()
    [(url, title, body)] = send.got
    assert title == "[ROLLBACK] order-gateway - gw rollback"
    assert body.startswith(
        "[ROLLBACK] Initiating rollback of order-gateway due to health failed 3 times. "
        "Expected completion: 09:05 UTC."
    )
    assert body.endswith("To: Trading desk")
    assert [k for k, _ in records] == ["notify_sent"]


def test_only_the_events_asked_for_are_sent_and_templates_override() -> None:
    send = Channel()
    n, _ = notifier(
        {
            "channels": {"a": "json://a"},
            "events": ["complete"],
            "templates": {"complete": "done: {{ drill }} {{ status }}"},
        },
        send,
    )
    n.event("start")
    n.event("complete", status="PASSED")
    n.close()
    assert [body for _, _, body in send.got] == ["done: gw rollback PASSED"]


def test_a_secret_never_leaves_in_a_message_or_a_record() -> None:
    send = Channel(mode="raise")
    n, records = notifier(
        {"channels": {"good": "json://good", "bad": "json://bad"}},
        send,
        secrets=("hunter2",),
    )
    n.event("failure", reason="password hunter2 rejected")
    n.close()
    assert send.got and all("hunter2" not in body for _, _, body in send.got)
    assert "hunter2" not in repr(records)


@pytest.mark.parametrize("mode", ["refuse", "raise"])
def test_a_failing_channel_is_recorded_and_the_others_still_deliver(mode: str) -> None:
    send = Channel(mode=mode)
    n, records = notifier({"channels": {"bad": "json://bad", "good": "json://good"}}, send)
    n.event("start")
    n.close()
    assert [url for url, _, _ in send.got] == ["json://good"]
    failed = [f for k, f in records if k == "notify_failed"]
    assert len(failed) == 1 and failed[0]["channel"] == "bad"
    assert (
        ("refused" in failed[0]["error"])
        if mode == "refuse"
        else "127.0.0.1:9" in failed[0]["error"]
    )


def test_a_channel_that_hangs_costs_the_drill_at_most_its_timeout() -> None:
    send = Channel(mode="hang")
    n, records = notifier(
        {"channels": {"slow": "json://slow", "fast": "json://fast"}, "timeout": "300ms"}, send
    )
    started = time.monotonic()
    for _ in range(5):
        n.event("progress", step_number=1, step_count=5)
    n.close()
    took = time.monotonic() - started
    send.release.set()
    assert took < 1.0, took  # not 5 x 300 ms: one bound for everything still in flight
    closed_with = list(records)
    time.sleep(0.4)  # the slow worker's wait ends after close(): it must record nothing more
    assert records == closed_with
    assert len([u for u, _, _ in send.got if u == "json://fast"]) == 5
    slow = [f for k, f in records if k == "notify_failed" and f["channel"] == "slow"]
    assert slow and any("within 0.3s" in f["error"] or "not sent" in f["error"] for f in slow)


class SlowFirst:
    """A channel whose first delivery outlasts the timeout, then gets through late."""

    def __init__(self, first_takes_s: float) -> None:
        self.first_takes_s = first_takes_s
        self.arrived: list[str] = []
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, url: str, title: str, body: str, timeout_s: float) -> bool:
        with self._lock:
            self.calls += 1
            first = self.calls == 1
        if first:
            time.sleep(self.first_takes_s)
        self.arrived.append(title)
        return True


@pytest.mark.parametrize("late_by_s", [0.1, 1.0])
def test_a_late_delivery_never_lets_the_next_message_overtake_it(late_by_s: float) -> None:
    # The first delivery takes 0.2 s + late_by_s against a 0.2 s timeout. Whether it comes
    # back within the next message's wait (one more timeout) or not, the channel must not
    # see the second message first.
    send = SlowFirst(0.2 + late_by_s)
    n, records = notifier({"channels": {"c": "json://c"}, "timeout": "200ms"}, send)
    n.event("start")
    n.event("failure", reason="step failed")
    time.sleep(0.2 + late_by_s + 0.3)  # both handled, and the straggler landed
    n.close()
    assert len(send.arrived) >= 1 and "start" in send.arrived[0].lower(), send.arrived
    own = list(records)
    failed = [f for k, f in own if k == "notify_failed"]
    assert failed[0]["notify_event"] == "start" and "within 0.2s" in failed[0]["error"]
    if late_by_s < 0.2:  # back within the wait: the second message follows it
        assert len(send.arrived) == 2
        assert [k for k, _ in own] == ["notify_failed", "notify_sent"]
    else:  # still running: the second is not sent, and says why
        assert len(send.arrived) == 1
        assert failed[1]["notify_event"] == "failure"
        assert "previous delivery is still running" in failed[1]["error"]
        assert failed[1]["took_s"] >= 0.2


def test_a_figure_not_measured_reads_not_measured_never_zero() -> None:
    line = figures_line(
        {"time_to_rollback_s": 0.34, "rto_s": None, "lost_writes": 0, "rpo_s": None}
    )
    assert line == "time to roll back 0.34s, RTO not measured, lost writes 0, RPO not measured."
