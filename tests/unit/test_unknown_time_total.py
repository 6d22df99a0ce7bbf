"""The total time a probe could not judge the service: each unknown sample counts until the
next sample (the last one until the window closes), and unknown time is never downtime."""

from __future__ import annotations

from runner.measure.recovery import downtime, unknown_time
from runner.measure.samples import AvailabilitySample
from runner.measure.timeline import Timeline


def sample(t: float, ok: bool | None) -> AvailabilitySample:
    return AvailabilitySample("up@web1", t, ok is True, None, "", unknown=ok is None)


def test_each_unknown_sample_counts_until_the_next_and_the_last_until_the_close() -> None:
    samples = [sample(0, True), sample(1, None), sample(2.5, None), sample(4, False)]
    samples += [sample(5, None), sample(5.25, True)]
    tl = Timeline(tuple(samples), verify_ended=6.0)
    # 1 -> 2.5 -> 4 (3 s) and 5 -> 5.25 (0.25 s); the failure from 4 to 5 is downtime.
    assert unknown_time(tl) == 3.25
    assert downtime(tl) == 1.0
    closing = Timeline((sample(0, True), sample(2, None)), verify_ended=3.5)
    assert unknown_time(closing) == 1.5


def test_a_probe_that_always_judged_has_no_unknown_time() -> None:
    tl = Timeline((sample(0, True), sample(1, False), sample(2, True)), verify_ended=3.0)
    assert unknown_time(tl) == 0
