"""What a probe's typed specification refuses, and the words it refuses it with: the loader
checks a playbook before it builds one, so these are the last guard against code that builds
a spec by hand, and their message must say what was wrong and what is allowed."""

from __future__ import annotations

import pytest

from runner.measure.specs import DataCall, DataProbe, PromExpect, ReadFormat, TriggerRule


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


def test_an_alert_trigger_needs_its_alert_and_a_known_source() -> None:
    why = "an alert trigger needs an alert name and one of ('prometheus', 'alertmanager')"
    for alert, source in (("", "prometheus"), ("Down", "graphite"), ("Down", "")):
        with pytest.raises(ValueError) as refused:
            TriggerRule("alert", alert=alert, source=source)
        assert str(refused.value) == why
    rule = TriggerRule("alert", alert="Down", source="alertmanager", url="http://am:9093")
    assert (rule.describe(), rule.watches) == ("alert Down firing in alertmanager", "alert:Down")


def test_a_trigger_of_an_unknown_kind_or_without_its_threshold_is_refused() -> None:
    with pytest.raises(ValueError) as refused:
        TriggerRule("latency_p99", "health")
    assert str(refused.value) == (
        "unknown trigger kind 'latency_p99'; expected one of ('consecutive_failures', "
        "'error_rate', 'latency', 'step_failed', 'alert')"
    )
    with pytest.raises(ValueError) as refused:
        TriggerRule("consecutive_failures", "health", consecutive_failures=0)
    assert str(refused.value) == "consecutive_failures must be at least 1"
    assert TriggerRule("consecutive_failures", "health", consecutive_failures=1).watches == "health"
    for kind in ("error_rate", "latency"):
        with pytest.raises(ValueError) as refused:
            TriggerRule(kind, "health", window_s=0.0)
        assert str(refused.value) == f"a {kind} trigger needs a window > 0 seconds"
        assert TriggerRule(kind, "health", window_s=0.001).window_s == 0.001
