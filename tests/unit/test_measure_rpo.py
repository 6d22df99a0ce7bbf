"""Data loss: the set-checker classes of each write, lost writes and the measured RPO."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.measure.rpo import CLASSES, data_loss
from runner.measure.samples import ReadBack, WriteAttempt

PROBE = "ledger@db1"


def acked(seq: int, sent: float, ack: float, probe: str = PROBE) -> WriteAttempt:
    return WriteAttempt(probe, seq, sent, ack, True)


def unknown(seq: int, sent: float) -> WriteAttempt:
    return WriteAttempt(PROBE, seq, sent, None, False, "timed out")


def ten_writes() -> list[WriteAttempt]:
    """Writes 1…10, sent at t=1…10 and acknowledged 50 ms later."""
    return [acked(i, float(i), i + 0.05) for i in range(1, 11)]


def read(*seqs: int, t: float = 100.0) -> ReadBack:
    return ReadBack(PROBE, t, seqs)


def test_every_acknowledged_write_present_means_nothing_lost_and_an_rpo_of_zero() -> None:
    loss = data_loss(ten_writes(), read(*range(1, 11)))
    assert loss.stable == tuple(range(1, 11))
    assert loss.lost_writes == 0
    assert loss.rpo_s == 0.0
    assert loss.counts == dict.fromkeys(CLASSES, 0) | {"stable": 10}
    assert loss.notes == ()


def test_writes_lost_at_the_end_measure_back_to_the_last_surviving_write() -> None:
    loss = data_loss(ten_writes(), read(*range(1, 8)))
    assert loss.lost == (8, 9, 10)
    assert loss.lost_writes == 3
    assert loss.rpo_from == pytest.approx(7.05)  # write 7, the newest one kept
    assert loss.rpo_to == pytest.approx(10.05)  # write 10, the newest one lost
    assert loss.rpo_s == pytest.approx(3.0)
    assert not loss.rpo_lower_bound


def test_writes_lost_in_the_middle_measure_from_before_the_oldest_lost_one() -> None:
    loss = data_loss(ten_writes(), read(1, 2, 3, 4, 6, 7, 8, 10))
    assert loss.lost == (5, 9)
    assert loss.stable == (1, 2, 3, 4, 6, 7, 8, 10)
    assert loss.rpo_s == pytest.approx(9.05 - 4.05)  # newest lost (9) - kept before oldest lost


def test_writes_of_unknown_outcome_are_recovered_or_failed_never_lost() -> None:
    writes = ten_writes()
    writes[3] = unknown(4, 4.0)  # applied after all
    writes[5] = unknown(6, 6.0)  # never applied: the client was not told it succeeded
    loss = data_loss(writes, read(1, 2, 3, 4, 5, 7, 8, 9, 10))
    assert loss.recovered == (4,)
    assert loss.failed == (6,)
    assert loss.lost == ()
    assert loss.lost_writes == 0
    assert loss.rpo_s == 0.0


def test_a_record_read_twice_is_duplicated_and_still_stable() -> None:
    loss = data_loss(ten_writes(), read(*range(1, 11), 3))
    assert loss.duplicated == (3,)
    assert 3 in loss.stable
    assert loss.counts["duplicated"] == 1
    assert loss.lost_writes == 0


def test_a_record_nobody_wrote_is_unexpected() -> None:
    loss = data_loss(ten_writes(), read(*range(1, 11), 99))
    assert loss.unexpected == (99,)
    assert loss.lost_writes == 0


def test_with_nothing_kept_the_rpo_is_a_lower_bound_from_the_first_write_sent() -> None:
    writes = [acked(1, 1.0, 1.05), acked(2, 2.0, 2.05), acked(3, 3.0, 3.05)]
    loss = data_loss(writes, read())
    assert loss.lost == (1, 2, 3)
    assert loss.rpo_from == 1.0  # the send time of write 1, the probe's first acknowledged one
    assert loss.rpo_s == pytest.approx(2.05)
    assert loss.rpo_lower_bound
    assert loss.notes == (
        "RPO is a lower bound: no surviving write was acknowledged before the oldest lost "
        "one (seq 1), so it is measured from that write's send time",
    )


def test_a_single_lost_first_write_still_has_a_positive_rpo() -> None:
    loss = data_loss(ten_writes(), read(*range(2, 11)))
    assert loss.lost == (1,)
    assert loss.rpo_s == pytest.approx(0.05)  # from its send to its ack: it surely existed then
    assert loss.rpo_lower_bound


def test_unknown_outcomes_before_the_oldest_lost_write_are_no_recovery_point() -> None:
    writes = [unknown(1, 1.0), acked(2, 2.0, 2.05), acked(3, 3.0, 3.05)]
    loss = data_loss(writes, read(1))
    assert loss.recovered == (1,)
    assert loss.rpo_s == pytest.approx(3.05 - 2.0)
    assert loss.rpo_lower_bound


def test_a_read_back_judges_only_writes_that_were_over_before_it() -> None:
    writes = [*ten_writes()[:8], acked(9, 9.0, 12.0), acked(10, 11.0, 11.05)]
    loss = data_loss(writes, read(*range(1, 9), t=10.0))
    assert loss.not_judged == (10,)  # sent after the read
    assert loss.failed == (9,)  # acknowledged after the read: absence proves nothing
    assert loss.lost_writes == 0
    assert "1 write(s) sent after the read-back were not judged" in loss.notes


def test_a_failed_read_back_measures_nothing() -> None:
    loss = data_loss(ten_writes(), ReadBack(PROBE, 100.0, (), error="connection refused"))
    assert loss.lost_writes is None
    assert loss.rpo_s is None
    assert loss.lost == ()
    assert loss.notes == (
        f"data loss not measured: the read-back of {PROBE} failed: connection refused",
    )


def test_without_an_acknowledged_write_the_rpo_is_not_measured() -> None:
    loss = data_loss([unknown(1, 1.0), unknown(2, 2.0)], read())
    assert loss.failed == (1, 2)
    assert loss.lost_writes == 0
    assert loss.rpo_s is None
    assert "RPO not measured: no write was acknowledged before the read-back" in loss.notes


def test_writes_of_other_probes_are_ignored() -> None:
    loss = data_loss(
        [*ten_writes(), acked(11, 11.0, 11.05, probe="ledger@db2")], read(*range(1, 11))
    )
    assert loss.lost_writes == 0
    assert loss.unexpected == ()


def test_a_sequence_number_attempted_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="attempted twice"):
        data_loss([acked(1, 1.0, 1.1), acked(1, 2.0, 2.1)], read(1))


def test_an_acknowledgement_needs_its_time() -> None:
    with pytest.raises(ValueError, match="without an ack time"):
        WriteAttempt(PROBE, 1, 1.0, None, True)
    with pytest.raises(ValueError, match="ack time but no ack"):
        WriteAttempt(PROBE, 1, 1.0, 1.1, False)


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(2, 60),
    data=st.data(),
    interval=st.sampled_from([0.05, 0.2, 1.0]),
    latency=st.floats(0.0, 0.9),
    recovery_point=st.floats(0.0, 0.999),
    failure=st.floats(0.0, 0.999),
)
def test_k_writes_lost_at_the_end_are_counted_exactly_and_the_rpo_is_within_one_interval(
    n: int,
    data: st.DataObject,
    interval: float,
    latency: float,
    recovery_point: float,
    failure: float,
) -> None:
    k = data.draw(st.integers(1, n - 1), label="lost")
    writes = [acked(i, i * interval, (i + latency) * interval) for i in range(1, n + 1)]
    # The truth: the store kept everything acknowledged up to the recovery point R (between
    # the acks of the last kept write and of the first lost one) and failed at F (after the
    # last ack, before the next write's would have come).
    kept_ack, first_lost_ack = writes[n - k - 1].t_ack, writes[n - k].t_ack
    assert kept_ack is not None and first_lost_ack is not None
    r = kept_ack + recovery_point * (first_lost_ack - kept_ack)
    f = (n + latency + failure) * interval
    loss = data_loss(writes, read(*range(1, n - k + 1), t=(n + 2) * interval))
    assert loss.lost_writes == k
    assert loss.rpo_s is not None and abs(loss.rpo_s - (f - r)) <= interval + 1e-9


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2)), min_size=1, max_size=40))
def test_every_write_lands_in_exactly_one_outcome_class(outcomes: list[tuple[bool, int]]) -> None:
    writes = [
        acked(i, float(i), i + 0.1) if was_acked else unknown(i, float(i))
        for i, (was_acked, _) in enumerate(outcomes)
    ]
    seqs = [i for i, (_, copies) in enumerate(outcomes) for _ in range(copies)]
    loss = data_loss(writes, read(*seqs))
    classes = [loss.stable, loss.lost, loss.recovered, loss.failed]
    assert sorted(s for c in classes for s in c) == list(range(len(outcomes)))
    expected_lost = [
        i for i, (was_acked, copies) in enumerate(outcomes) if was_acked and not copies
    ]
    assert list(loss.lost) == expected_lost
    assert loss.lost_writes == len(expected_lost)
    assert list(loss.duplicated) == [i for i, (_, copies) in enumerate(outcomes) if copies > 1]
    assert (loss.rpo_s == 0.0) == (not expected_lost and any(a for a, _ in outcomes))
