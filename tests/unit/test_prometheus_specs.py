"""Prometheus probes and alert triggers are typed and checked when the playbook loads: a bad
URL, an empty query or an unknown comparator is one located error before anything runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import InputError
from runner.measure.specs import PromExpect, TriggerRule
from runner.playbook.loader import load_playbook
from runner.playbook.model import Playbook
from tests.conftest import run_drillctl

HEAD = "drill: prom\nrollback_type: 2\n"


def load(tmp_path: Path, body: str) -> Playbook:
    path = tmp_path / "drill.yml"
    path.write_text(HEAD + textwrap.dedent(body))
    return load_playbook(path)[0]


def problems(tmp_path: Path, body: str) -> list[tuple[int, int, str]]:
    with pytest.raises(InputError) as caught:
        load(tmp_path, body)
    return [(d.line - 2, d.col, d.message) for d in caught.value.diagnostics]


def test_a_prometheus_probe_is_built_with_its_expectation_and_timeout(tmp_path: Path) -> None:
    playbook = load(
        tmp_path,
        """\
        probes:
          up:
            prometheus:
              url: http://127.0.0.1:9090
              query: 'lab_up{job="lab"}'
              expect: {op: ">=", value: 1, match: any}
              no_data: unknown
              timeout: 2s
            every: 1s
        triggers: [{probe: up, consecutive_failures: 2}]
        """,
    )
    up = playbook.probes["up"]
    assert up.kind == "prometheus" and up.timeout_s == 2.0 and up.every_s == 1.0
    assert up.expect == PromExpect(">=", 1.0, "any", "unknown")
    assert up.request["query"] == 'lab_up{job="lab"}'
    assert playbook.triggers == (TriggerRule("consecutive_failures", "up", 2),)


def test_defaults_judge_every_series_and_call_no_data_unhealthy(tmp_path: Path) -> None:
    playbook = load(
        tmp_path,
        """\
        probes:
          up: {prometheus: {url: "http://{{ prom }}", query: up, expect: {op: "==", value: 1}}}
        """,
    )
    assert playbook.probes["up"].expect == PromExpect("==", 1.0, "all", "unhealthy")


def test_an_alert_trigger_names_its_alert_source_and_interval(tmp_path: Path) -> None:
    playbook = load(
        tmp_path,
        """\
        triggers:
          - {alert: LabDown, prometheus: "http://127.0.0.1:9090", every: 500ms}
          - {alert: LabDown, alertmanager: "http://127.0.0.1:9093"}
        """,
    )
    first, second = playbook.triggers
    assert (first.kind, first.alert, first.source, first.every_s) == (
        "alert",
        "LabDown",
        "prometheus",
        0.5,
    )
    assert (second.source, second.url, second.every_s, second.timeout_s) == (
        "alertmanager",
        "http://127.0.0.1:9093",
        1.0,
        2.0,
    )
    assert first.describe() == "alert LabDown firing in prometheus"


P = "probes:\n  p:\n    prometheus:\n"


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        (
            P + "      url: ftp://127.0.0.1:9090\n      query: up\n"
            "      expect: {op: '>=', value: 1}\n",
            (4, "ftp"),
            "url 'ftp://127.0.0.1:9090' must start with http:// or https://",
        ),
        (
            P + "      url: http://127.0.0.1:99999\n      query: up\n"
            "      expect: {op: '>=', value: 1}\n",
            (4, "http"),
            "has a port that is not a number from 1 to 65535",
        ),
        (
            P + "      url: http://127.0.0.1:9090\n      query: '  '\n"
            "      expect: {op: '>=', value: 1}\n",
            (5, "'  '"),
            "prometheus.query is empty",
        ),
        (
            P + "      url: http://127.0.0.1:9090\n      query: up\n"
            "      expect: {op: '=~', value: 1}\n",
            (6, "'=~'"),
            "expect.op: '=~' is not one of '==', '!=', '>', '>=', '<', '<='",
        ),
        (
            P + "      url: http://127.0.0.1:9090\n      query: up\n"
            "      expect: {op: '>=', value: one}\n",
            (6, "one"),
            "expect.value: expected a number, got the string 'one'",
        ),
        (
            "triggers: [{alert: LabDown}]\n",
            (1, "{alert"),
            "an alert trigger needs exactly one of prometheus or alertmanager",
        ),
        (
            "triggers: [{alert: LabDown, prometheus: 'localhost:9090'}]\n",
            (1, "'localhost"),
            "must start with http:// or https://",
        ),
        (
            "triggers: [{alert: LabDown, prometheus: 'http://x:1', every: 10ms}]\n",
            (1, "10ms"),
            "is too short; it must be at least 50ms",
        ),
    ],
)
def test_a_bad_prometheus_probe_or_alert_trigger_is_one_located_error(
    tmp_path: Path, body: str, where: tuple[int, str], message: str
) -> None:
    found = problems(tmp_path, body)
    assert len(found) == 1, found
    (line, col, text) = found[0]
    assert message in text, text
    at_line, token = where
    assert (line, col) == (at_line, body.splitlines()[at_line - 1].index(token) + 1), text


def test_a_valid_prometheus_probe_loads_without_problems(tmp_path: Path) -> None:
    """The other side of the boundary: the same shapes, well formed, load."""
    playbook = load(
        tmp_path,
        P + "      url: https://prom.example:9090/prefix\n      query: up\n"
        "      expect: {op: '!=', value: 0}\n"
        "triggers: [{alert: LabDown, prometheus: 'http://x:1', every: 50ms}]\n",
    )
    assert playbook.probes["p"].expect == PromExpect("!=", 0.0)
    assert playbook.triggers[0].every_s == 0.05


def test_a_templated_url_that_renders_bad_is_refused_at_plan_with_its_location(
    tmp_path: Path,
) -> None:
    (tmp_path / "inv.yml").write_text("all: {hosts: {lab1: {connection: local}}}\n")
    (tmp_path / "drill.yml").write_text(
        HEAD
        + "hosts: all\n"
        + "probes:\n  up:\n    prometheus:\n      url: '{{ prom }}'\n      query: up\n"
        + "      expect: {op: '>=', value: 1}\n"
        + "triggers: [{alert: LabDown, alertmanager: '{{ am }}'}]\n"
        + "deploy: [{name: d, command: 'true'}]\n"
    )

    def plan(*extra: str) -> tuple[int, str]:
        proc = run_drillctl(
            "plan", str(tmp_path / "drill.yml"), "-i", str(tmp_path / "inv.yml"), *extra
        )
        return proc.returncode, proc.stdout + proc.stderr

    code, out = plan("-e", "prom=localhost:9090", "-e", "am=http://127.0.0.1:9093")
    assert code == 2 and "drill.yml:7:12: probe up on lab1: url 'localhost:9090' must start" in out
    code, out = plan("-e", "prom=http://127.0.0.1:9090", "-e", "am=127.0.0.1:9093")
    assert code == 2 and "drill.yml:10:43: alert LabDown: url '127.0.0.1:9093' must start" in out
    code, out = plan("-e", "prom=http://127.0.0.1:9090", "-e", "am=http://127.0.0.1:9093")
    assert code == 0, out
