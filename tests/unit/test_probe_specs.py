"""Probes and triggers are typed and checked when the playbook loads: a bad interval, timeout,
read-back format or trigger is a located error before anything runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import InputError
from runner.measure.specs import (
    DEFAULT_CHECK_TIMEOUT_S,
    DEFAULT_EVERY_S,
    DEFAULT_HEALTHY_AFTER,
    DEFAULT_READ_DEADLINE_S,
    DEFAULT_READ_TIMEOUT_S,
    DEFAULT_WRITE_TIMEOUT_S,
    DataCall,
    ProbeSpec,
    ReadFormat,
    TriggerRule,
)
from runner.playbook.loader import load_playbook
from runner.playbook.model import Playbook

HEAD = "drill: probes\nrollback_type: 2\n"


def load(tmp_path: Path, body: str) -> Playbook:
    path = tmp_path / "drill.yml"
    path.write_text(HEAD + textwrap.dedent(body))
    return load_playbook(path)[0]


def problems(tmp_path: Path, body: str) -> list[tuple[int, int, str]]:
    """(line, col, message) of every problem; lines count from the body's first line."""
    with pytest.raises(InputError) as caught:
        load(tmp_path, body)
    return [(d.line - 2, d.col, d.message) for d in caught.value.diagnostics]


def test_defaults_are_written_once_and_built_into_the_spec(tmp_path: Path) -> None:
    playbook = load(
        tmp_path,
        """\
        probes:
          health: {command: "true"}
          ledger:
            data:
              write: {shell: "echo {{ seq }} >> /tmp/l"}
              read: {shell: "cat /tmp/l"}
        triggers: [{probe: health, consecutive_failures: 2}, step_failed]
        """,
    )
    health, ledger = playbook.probes["health"], playbook.probes["ledger"]
    assert health == ProbeSpec(
        "health", DEFAULT_EVERY_S, DEFAULT_CHECK_TIMEOUT_S, "command", "true", DEFAULT_HEALTHY_AFTER
    )
    assert ledger.is_data and ledger.data is not None and not health.is_data
    assert ledger.data.write == DataCall(
        "shell", "echo {{ seq }} >> /tmp/l", DEFAULT_WRITE_TIMEOUT_S
    )
    assert ledger.data.read == DataCall("shell", "cat /tmp/l", DEFAULT_READ_TIMEOUT_S)
    assert ledger.data.read_format == ReadFormat("lines")
    assert ledger.data.read_deadline_s == DEFAULT_READ_DEADLINE_S
    assert DEFAULT_READ_TIMEOUT_S >= 5  # sized for a real database over SSH: seconds
    assert playbook.triggers == (
        TriggerRule("consecutive_failures", "health", consecutive_failures=2),
        TriggerRule("step_failed"),
    )
    assert playbook.measure_from == "deploy"


def test_timings_formats_and_trigger_windows_are_read_as_written(tmp_path: Path) -> None:
    playbook = load(
        tmp_path,
        """\
        measure_from: prepare
        probes:
          health:
            http: {url: "http://127.0.0.1:1/h", timeout: 300ms}
            every: 50ms
            healthy_after: 1
          port: {tcp: {port: 22}, timeout: 2s, every: 100ms}
          ledger:
            data:
              write: {http: {url: "http://127.0.0.1:1/l?seq={{ seq }}", method: POST}, timeout: 2s}
              read: {shell: "grep seq /tmp/l", timeout: 20s, deadline: 1m, pattern: 'seq:(\\d+)$'}
            every: 200ms
        triggers:
          - {probe: health, error_rate: 0.5, window: 50ms}
          - {probe: port, latency_p: 90, above: 250ms, window: 1s}
        """,
    )
    health, port, ledger = (playbook.probes[n] for n in ("health", "port", "ledger"))
    assert (health.kind, health.every_s, health.timeout_s, health.healthy_after) == (
        "http",
        0.05,
        0.3,
        1,
    )
    assert (port.kind, port.timeout_s) == ("tcp", 2.0)
    assert ledger.data is not None and ledger.timeout_s == 2.0
    assert ledger.data.read == DataCall("shell", "grep seq /tmp/l", 20.0)
    assert ledger.data.read_format == ReadFormat("pattern", r"seq:(\d+)$")
    assert ledger.data.read_deadline_s == 60.0
    assert playbook.triggers[0] == TriggerRule(
        "error_rate", "health", error_rate=0.5, window_s=0.05
    )
    assert playbook.triggers[1] == TriggerRule(
        "latency", "port", window_s=1.0, latency_p=90.0, above_s=0.25
    )
    assert playbook.measure_from == "prepare"


def test_an_http_data_call_may_give_its_timeout_inside_http(tmp_path: Path) -> None:
    playbook = load(
        tmp_path,
        """\
        probes:
          ledger:
            data:
              write: {http: {url: "http://x/l?seq={{ seq }}", method: POST, timeout: 30s}}
              read: {http: {url: "http://x/l", timeout: 20s}, format: json}
        """,
    )
    data = playbook.probes["ledger"].data
    assert data is not None and (data.write.timeout_s, data.read.timeout_s) == (30.0, 20.0)


@pytest.mark.parametrize(
    ("every", "ok"), [("0s", False), ("0", False), ("49ms", False), ("50ms", True), ("1s", True)]
)
def test_the_probe_interval_has_a_50ms_minimum(tmp_path: Path, every: str, ok: bool) -> None:
    body = f'probes:\n  health: {{command: "true", every: {every}}}\n'
    if ok:
        assert load(tmp_path, body).probes["health"].every_s >= 0.05
        return
    [(line, col, message)] = problems(tmp_path, body)
    assert (line, col) == (2, body.splitlines()[1].index(f"{every}}}") + 1)
    shown = every if every.isdigit() else repr(every)  # a bare number is read as one
    assert message == f"probes.health.every: {shown} is too short; it must be at least 50ms"


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        (
            'probes:\n  h: {command: "true", timeout: 0s}\n',
            (2, "0s}"),
            "probes.h.timeout: '0s' is too short; it must be more than 0s",
        ),
        (
            'probes:\n  h: {timeout: 1s, http: {url: "http://x/", timeout: 1s}}\n',
            (2, "timeout"),
            "probe h: give the check's timeout once, here or as http.timeout",
        ),
        (
            "probes:\n  h: {every: 1s}\n",
            (2, "{every"),
            "probe h: give exactly one of http, tcp, command, prometheus or data (found none)",
        ),
        (
            "probes:\n  d:\n    data:\n"
            "      write: {shell: w, timout: 5s}\n      read: {shell: r}\n",
            (4, "timout"),
            "unknown key 'timout' (did you mean 'timeout'?)",
        ),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n      read: {command: r}\n",
            (5, "command"),
            "unknown key 'command'",
        ),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n      read: {timeout: 1s}\n",
            (5, "{timeout"),
            "probes.d.data.read: give exactly one of shell or http (neither)",
        ),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n"
            "      read: {shell: r, timeout: '{{ t }}'}\n",
            (5, "'{{ t }}'"),
            "probes.d.data.read.timeout: expected a duration like 500ms",
        ),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n"
            "      read: {shell: r, timeout: 20s, deadline: 10s}\n",
            (5, "10s}"),
            "the read-back deadline (10.0s) is shorter than one read's timeout (20.0s)",
        ),
        (
            "probes:\n  d:\n    data:\n"
            "      write: {shell: w}\n      read: {shell: r, format: csv}\n",
            (5, "csv"),
            "probes.d.data.read.format: 'csv' is not one of 'lines', 'json'",
        ),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n"
            "      read: {shell: r, format: json, pattern: '(\\d+)'}\n",
            (5, "pattern"),
            "give `format` or `pattern`, not both",
        ),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n"
            "      read: {shell: r, pattern: 'seq:\\d+'}\n",
            (5, "'seq"),
            "pattern 'seq:\\\\d+' has 0 groups; it needs exactly one",
        ),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n"
            "      read: {shell: r, pattern: '(\\w+):(\\d+)'}\n",
            (5, "'(\\w"),
            "pattern '(\\\\w+):(\\\\d+)' has 2 groups",
        ),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n"
            "      read: {shell: r, pattern: '(\\d+'}\n",
            (5, "'(\\d+'"),
            "pattern '(\\\\d+' is not a regular expression",
        ),
        (
            'probes:\n  h: {command: "true", every: 1s}\n'
            "triggers: [{probe: h, error_rate: 0.5, window: 999ms}]\n",
            (3, "999ms"),
            "window 1.00s is shorter than probe h's interval (1.00s)",
        ),
        (
            'probes:\n  h: {command: "true"}\n'
            "triggers: [{probe: health, consecutive_failures: 3}]\n",
            (3, "health,"),
            "trigger on unknown probe 'health' (probes: h)",
        ),
        (
            "probes:\n  d: {data: {write: {shell: w}, read: {shell: r}}}\n"
            "triggers: [{probe: d, consecutive_failures: 3}]\n",
            (3, "d, con"),
            "probe 'd' is a data probe",
        ),
        (
            'probes:\n  h: {command: "true"}\n'
            "triggers: [{probe: h, consecutive_failures: 3, error_rate: 0.5}]\n",
            (3, "{probe"),
            "a trigger needs exactly one of consecutive_failures, error_rate or latency_p",
        ),
        ("measure_from: verify\n", (1, "verify"), "measure_from: 'verify' is not one of"),
        (
            "probes:\n  d:\n    data:\n      write: {shell: w}\n"
            "      read: {timeout: 5s, http: {url: 'http://x/', timeout: 5s}}\n",
            (5, "timeout"),
            "probes.d.data.read: give the timeout once, here or as http.timeout",
        ),
    ],
)
def test_a_bad_probe_or_trigger_is_one_located_error(
    tmp_path: Path, body: str, where: tuple[int, str], message: str
) -> None:
    found = problems(tmp_path, body)
    assert len(found) == 1, found
    (line, col, text) = found[0]
    assert message in text, text
    at_line, token = where  # the error points at this token of that line
    assert (line, col) == (at_line, body.splitlines()[at_line - 1].index(token) + 1), text


def test_a_trigger_window_equal_to_the_interval_is_accepted(tmp_path: Path) -> None:
    playbook = load(
        tmp_path,
        'probes:\n  h: {command: "true", every: 1s}\n'
        "triggers: [{probe: h, error_rate: 0.5, window: 1s}]\n",
    )
    assert playbook.triggers[0].window_s == 1.0


def test_specs_refuse_impossible_values_when_built_in_code() -> None:
    with pytest.raises(ValueError, match="healthy_after must be at least 1"):
        ProbeSpec("h", healthy_after=0)
    with pytest.raises(ValueError, match="a data probe, and only it"):
        ProbeSpec("h", kind="data")
    with pytest.raises(ValueError, match="timeout must be > 0"):
        DataCall("shell", "x", 0.0)
    with pytest.raises(ValueError, match="one of"):
        DataCall("command", "x", 1.0)
