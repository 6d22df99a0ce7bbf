"""The evidence the measure rules leave beside a verdict: which alert poll fired a rollback,
why an RPO is null, which writes were not judged, and a sample that contradicts itself.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

import pytest

from runner.measure.rpo import data_loss
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.specs import TriggerRule
from runner.measure.triggers import Fired, TriggerWatch


def test_a_firing_alert_poll_is_the_trigger_record_whole() -> None:
    rule = TriggerRule("alert", alert="LabDown", source="prometheus", url="http://x:1")
    fired: list[Fired] = []
    watch = TriggerWatch([rule], fired.append)
    watch.arm(0.0)
    poll = AvailabilitySample(rule.watches, 3.25, False, 0.01, "alert LabDown firing")
    watch.observe_alert(rule, poll)
    assert fired == [Fired(rule, rule.watches, 3.25, "alert LabDown firing", (poll,))]
    assert watch.fired == fired[0]


def writes(*sent: float, probe: str = "ledger@db1") -> list[WriteAttempt]:
    return [WriteAttempt(probe, i, t, t + 0.05, True) for i, t in enumerate(sent, start=1)]


def test_an_rpo_with_no_acknowledged_write_is_null_with_its_reason() -> None:
    unacked = [WriteAttempt("ledger@db1", 1, 1.0, None, False)]
    loss = data_loss(unacked, ReadBack("ledger@db1", 10.0, ()))
    assert loss.rpo_s is None
    assert loss.reasons == {
        "rpo_s": "RPO not measured: no write was acknowledged before the read-back"
    }
    # A measured RPO carries no reason.
    assert data_loss(writes(1.0), ReadBack("ledger@db1", 10.0, (1,))).reasons == {}


def test_writes_before_the_window_are_not_counted_as_sent_after_the_read_back() -> None:
    loss = data_loss(writes(1.0, 2.0, 3.0), ReadBack("ledger@db1", 10.0, (3,)), window_opens=2.5)
    assert loss.notes == ("2 write(s) sent before the measurement window opened were not judged",)
    late = data_loss(writes(1.0, 2.0, 11.0), ReadBack("ledger@db1", 10.0, (2,)), window_opens=1.5)
    assert late.notes == (
        "1 write(s) sent before the measurement window opened were not judged",
        "1 write(s) sent after the read-back were not judged",
    )


def test_a_sample_both_unknown_and_healthy_is_refused_and_named() -> None:
    with pytest.raises(ValueError, match=r"^sample of up@h at t=2.5 is both unknown and healthy$"):
        AvailabilitySample("up@h", 2.5, True, 0.01, unknown=True)
