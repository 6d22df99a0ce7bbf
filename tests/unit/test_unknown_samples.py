"""Unknown samples (a Prometheus probe whose Prometheus did not answer) are gaps in the
evidence: never downtime, never healthy; a recovery needs healthy samples to confirm it, and
triggers neither count them as failures nor let them reset a streak."""

from __future__ import annotations

from runner.engine.outcome import FAILED, PASSED, objectives_verdict
from runner.measure.figures import availability_block, blind_instances, measure_drill
from runner.measure.probes import ProbeLog
from runner.measure.recovery import NO_INCIDENT, measure
from runner.measure.samples import AvailabilitySample
from runner.measure.specs import TriggerRule
from runner.measure.timeline import Timeline
from runner.measure.triggers import Fired, TriggerWatch
from runner.playbook.model import Playbook
from runner.report.timeline_svg import STRIP_COLOUR, timeline_svg

PROBE = "up@lab1"


def pattern(states: str, every: float = 1.0) -> tuple[AvailabilitySample, ...]:
    """`+` healthy, `-` failed, `?` unknown; one sample per `every` seconds from 0."""
    return tuple(
        AvailabilitySample(
            PROBE, i * every, c == "+", None, "unknown: refused" if c == "?" else "", c == "?"
        )
        for i, c in enumerate(states)
    )


def test_unknown_time_is_neither_downtime_nor_healthy() -> None:
    m = measure(Timeline(pattern("++--??++++"), deploy_started=0.0, verify_ended=10.0))
    assert m.downtime_s == 2.0  # the two failed samples; the two unknown ones are not counted
    assert (m.unknown_samples, m.unknown_s) == (2, 2.0)
    assert m.incident_start == 2.0
    assert m.recovered_at == 6.0  # the first healthy sample after the gap confirms it
    assert m.rto_s == 4.0
    # The recovery edge lies somewhere in the unknown stretch: the resolution says so.
    assert m.resolution_s == 3.0
    assert any("2 of 10 sample(s) in the window were unknown" in n for n in m.notes)


def test_a_recovery_seen_only_through_unknown_samples_is_not_a_recovery() -> None:
    m = measure(Timeline(pattern("++---?????"), deploy_started=0.0, verify_ended=10.0))
    assert m.recovered_at is None and m.rto_s is None
    assert "only unknown samples" in m.reasons["rto_s"]
    assert m.downtime_s == 3.0


def test_unknown_samples_neither_count_toward_nor_break_the_healthy_streak() -> None:
    # Three healthy samples with unknown ones between them confirm the recovery...
    m = measure(Timeline(pattern("+--+?+?+"), deploy_started=0.0, verify_ended=8.0))
    assert m.recovered_at == 3.0 and m.rto_s == 2.0
    # ...two healthy ones do not, however many unknown ones follow them.
    m = measure(Timeline(pattern("+--++????"), deploy_started=0.0, verify_ended=9.0))
    assert m.recovered_at is None
    assert "has 2 sample(s), fewer than the 3" in m.reasons["rto_s"]


def test_a_window_of_unknown_samples_claims_no_incident_and_measures_nothing() -> None:
    m = measure(Timeline(pattern("??????"), deploy_started=0.0, verify_ended=6.0))
    assert m.incident_start is None and m.no_incident is False
    assert m.rto_s is None and m.downtime_s is None and m.resolution_s is None
    assert "an outage in them could not have been seen" in m.reasons["rto_s"]
    assert "6 of 6 sample(s) in the window were unknown" in m.reasons["downtime_s"]


def test_a_partly_blind_window_without_failures_is_not_called_no_incident() -> None:
    blind = measure(Timeline(pattern("+++??+++"), deploy_started=0.0, verify_ended=8.0))
    assert blind.no_incident is False and blind.rto_s is None
    assert NO_INCIDENT not in blind.notes
    seen = measure(Timeline(pattern("++++++++"), deploy_started=0.0, verify_ended=8.0))
    assert seen.no_incident is True and seen.downtime_s == 0.0


def test_result_json_availability_shows_unknown_runs_as_null_and_counts_them() -> None:
    log = ProbeLog(availability=list(pattern("++??--+++")))
    figures = measure_drill(log, Timeline(deploy_started=0.0, verify_ended=9.0))
    [block] = availability_block(figures, 0.0)
    assert block["runs"] == [
        [0.0, 2.0, True],
        [2.0, 4.0, None],
        [4.0, 6.0, False],
        [6.0, 8.0, True],
    ]
    assert (block["unknown_samples"], block["unknown_s"]) == (2, 2.0)
    assert blind_instances(figures) == []


def test_an_instance_that_saw_nothing_is_blind_and_stands_for_the_service() -> None:
    blind = [AvailabilitySample("up@lab2", float(i), False, None, "", True) for i in range(6)]
    log = ProbeLog(availability=[*pattern("+--+++"), *blind])
    figures = measure_drill(log, Timeline(deploy_started=0.0, verify_ended=6.0))
    assert [m.probe for m in blind_instances(figures)] == ["up@lab2"]
    worst = figures.worst()
    assert worst is not None and worst.probe == "up@lab2"  # lab1's RTO may not stand in
    assert figures.as_result()["rto_s"] is None


def test_the_timeline_draws_unknown_stretches_in_their_own_colour() -> None:
    result = {
        "drill": "d",
        "started_at": "2026-12-01T10:00:00Z",
        "duration_s": 9.0,
        "availability": [{"probe": PROBE, "runs": [[0, 2, True], [2, 4, None], [4, 6, False]]}],
    }
    svg = timeline_svg(result)
    assert f'fill="{STRIP_COLOUR["unknown"]}"><title>unknown 2.00 s' in svg
    assert f'fill="{STRIP_COLOUR["unhealthy"]}"><title>unhealthy 2.00 s' in svg
    assert f'fill="{STRIP_COLOUR["healthy"]}"><title>healthy 2.00 s' in svg


def _watch(rule: TriggerRule) -> tuple[TriggerWatch, list[Fired]]:
    fired: list[Fired] = []
    watch = TriggerWatch([rule], fired.append)
    watch.arm(0.0)
    return watch, fired


def test_unknown_samples_neither_fire_nor_reset_a_consecutive_failures_trigger() -> None:
    watch, fired = _watch(TriggerRule("consecutive_failures", "up", consecutive_failures=3))
    for sample in pattern("-?-??"):
        watch.observe(sample)
    assert fired == []  # two failures so far: the unknown ones did not count
    watch.observe(AvailabilitySample(PROBE, 5.0, False, None, "down"))
    assert len(fired) == 1 and [s.t for s in fired[0].samples] == [0.0, 2.0, 5.0]


def test_a_probe_unknown_throughout_never_fires_an_error_rate_trigger() -> None:
    watch, fired = _watch(TriggerRule("error_rate", "up", error_rate=0.1, window_s=2.0))
    for sample in pattern("?" * 20, every=0.5):
        watch.observe(sample)
    assert fired == []
    watch2, fired2 = _watch(TriggerRule("error_rate", "up", error_rate=0.1, window_s=2.0))
    for sample in pattern("-" * 20, every=0.5):
        watch2.observe(sample)
    assert len(fired2) == 1


def test_an_alert_trigger_fires_on_a_firing_poll_only() -> None:
    rule = TriggerRule("alert", alert="LabDown", source="prometheus", url="http://x:1")
    watch, fired = _watch(rule)
    label = rule.watches
    watch.observe_alert(rule, AvailabilitySample(label, 1.0, False, None, "unknown: x", True))
    watch.observe_alert(rule, AvailabilitySample(label, 2.0, True, 0.01, ""))
    watch.observe(AvailabilitySample(label, 2.5, False, None, "a probe sample is not a poll"))
    assert fired == []
    watch.observe_alert(rule, AvailabilitySample(label, 3.0, False, 0.01, "alert LabDown firing"))
    assert len(fired) == 1 and fired[0].detail == "alert LabDown firing"


def test_a_recovery_is_unseen_only_when_nothing_healthy_follows_the_incident() -> None:
    def unseen(states: str, **times: float) -> bool:
        tl = Timeline(pattern(states), deploy_started=0.0, verify_ended=len(states), **times)
        return measure(tl).recovery_unseen

    assert unseen("++--????")  # failures, then only unknown samples
    assert unseen("++????", first_fault_injected=2.0)  # a fault, then nothing seen
    assert not unseen("++--?+++")  # seen healthy again
    assert not unseen("++----")  # seen still failing: not recovered, not unseen
    assert not unseen("++++++")  # no incident
    assert not unseen("++--+?")  # a healthy sample after the outage (a short streak)


def test_a_drill_whose_probe_saw_nothing_after_the_incident_does_not_pass() -> None:
    playbook = Playbook(
        path="d.yml", drill="d", rollback_type=2
    )  # no objectives: nothing else to fail on
    seen = measure_drill(
        ProbeLog(availability=list(pattern("++--++++"))),
        Timeline(deploy_started=0.0, verify_ended=8.0),
    )
    assert objectives_verdict(playbook, seen, "ok") == (PASSED, "ok")
    unseen = measure_drill(
        ProbeLog(availability=list(pattern("++??????"))),
        Timeline(deploy_started=0.0, first_fault_injected=2.0, verify_ended=8.0),
    )
    status, reason = objectives_verdict(playbook, unseen, "ok")
    assert status == FAILED
    assert reason == f"no recovery observed by {PROBE}: only unknown samples after the incident"
    blind = measure_drill(
        ProbeLog(availability=list(pattern("????"))), Timeline(deploy_started=0.0, verify_ended=4.0)
    )
    assert objectives_verdict(playbook, blind, "ok") == (
        FAILED,
        f"availability not observed: every sample of {PROBE} was unknown",
    )
