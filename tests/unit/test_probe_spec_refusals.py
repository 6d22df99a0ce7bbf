"""What a probe's typed specification refuses, and the words it refuses it with: the loader
checks a playbook before it builds one, so these are the last guard against code that builds
a spec by hand, and their message must say what was wrong and what is allowed."""

from __future__ import annotations

import pytest

from runner.measure.specs import (
    DataCall,
    DataProbe,
    ProbeSpec,
    PromExpect,
    ReadFormat,
    TriggerRule,
)


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


@pytest.mark.parametrize(
    ("every", "timeout"), [(0.0, 1.0), (1.0, 0.0), (-0.5, 1.0), (1.0, -1.0), (0.0, 0.0)]
)
def test_a_probe_needs_a_positive_period_and_timeout(every: float, timeout: float) -> None:
    with pytest.raises(ValueError) as refused:
        ProbeSpec("health", every, timeout)
    assert str(refused.value) == "probe health: every and timeout must be > 0 seconds"


def test_a_probe_needs_at_least_one_healthy_sample_to_recover() -> None:
    with pytest.raises(ValueError) as refused:
        ProbeSpec("health", healthy_after=0)
    assert str(refused.value) == "probe health: healthy_after must be at least 1"
    tiny = ProbeSpec("health", 0.001, 0.001, healthy_after=1)
    assert (tiny.every_s, tiny.timeout_s, tiny.healthy_after) == (0.001, 0.001, 1)


def test_data_calls_belong_to_a_data_probe_and_expect_to_a_prometheus_one() -> None:
    data = DataProbe(DataCall("shell", "w", 1.0), DataCall("shell", "r", 1.0))
    expect = PromExpect(">=", 1.0)
    refusals = [
        (("data",), {}, "probe p: a data probe, and only it, has data calls"),
        (("command",), {"data": data}, "probe p: a data probe, and only it, has data calls"),
        (("ping",), {}, "probe p: unknown kind 'ping'"),
        (("prometheus",), {}, "probe p: a Prometheus probe, and only it, has expect"),
        (("http",), {"expect": expect}, "probe p: a Prometheus probe, and only it, has expect"),
    ]
    for (kind,), extra, why in refusals:
        with pytest.raises(ValueError) as refused:
            ProbeSpec("p", 1.0, 1.0, kind, **extra)
        assert str(refused.value) == why
    assert ProbeSpec("p", 1.0, 1.0, "data", data=data).is_data is True
    assert ProbeSpec("p", 1.0, 1.0, "prometheus", expect=expect).is_data is False
    for kind in ("http", "tcp", "command"):
        assert ProbeSpec("p", 1.0, 1.0, kind).kind == kind
