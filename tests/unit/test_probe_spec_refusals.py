"""What a probe's typed specification refuses, and the words it refuses it with: the loader
checks a playbook before it builds one, so these are the last guard against code that builds
a spec by hand, and their message must say what was wrong and what is allowed."""

from __future__ import annotations

import pytest

from runner.measure.specs import DataCall, DataProbe, PromExpect, ReadFormat


def test_a_prometheus_expectation_refuses_an_unknown_comparator_naming_every_one() -> None:
    with pytest.raises(ValueError) as refused:
        PromExpect("=>", 1.0)
    assert str(refused.value) == "comparator is one of == != > >= < <=, got '=>'"


def test_a_prometheus_expectation_refuses_an_unknown_match_or_no_data() -> None:
    with pytest.raises(ValueError) as refused:
        PromExpect(">=", 1.0, "some")
    assert str(refused.value) == "match is one of ('all', 'any'), got 'some'"
    with pytest.raises(ValueError) as refused:
        PromExpect(">=", 1.0, "any", "healthy")
    assert str(refused.value) == "no_data is one of ('unhealthy', 'unknown'), got 'healthy'"


def test_a_prometheus_expectation_within_its_choices_is_built_as_given() -> None:
    expect = PromExpect("<=", 0.5, "any", "unknown")
    assert (expect.op, expect.value, expect.match, expect.no_data) == ("<=", 0.5, "any", "unknown")
    assert expect.describe() == "any series <= 0.5"


def test_a_read_format_has_a_pattern_exactly_when_it_is_the_pattern_format() -> None:
    for kind, pattern in (("pattern", ""), ("lines", r"seq=(\d+)")):
        with pytest.raises(ValueError) as refused:
            ReadFormat(kind, pattern)
        assert str(refused.value) == "a pattern read format needs its pattern, and only it has one"
    assert ReadFormat("pattern", r"seq=(\d+)").describe() == "pattern 'seq=(\\\\d+)'"


def test_a_read_back_deadline_shorter_than_one_read_is_refused_with_both_durations() -> None:
    write, read = DataCall("shell", "w", 1.0), DataCall("shell", "r", 2.5)
    with pytest.raises(ValueError) as refused:
        DataProbe(write, read, ReadFormat(), 2.0)
    assert str(refused.value) == (
        "the read-back deadline (2s) is shorter than one read's timeout (2.5s)"
    )
    assert DataProbe(write, read, ReadFormat(), 2.5).read_deadline_s == 2.5
