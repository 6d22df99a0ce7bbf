"""What `drillctl plan` checks before anything runs: each probe's request as it will be made
on each of its hosts (within --limit), its host pattern, and which `when` conditions wait for
a registered result (decided at run time) or are decided now.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main

INVENTORY = (
    "all:\n  hosts:\n    web1: {ansible_connection: local}\n    web2: {ansible_connection: local}\n"
)
PORT = "has a port that is not a number from 1 to 65535"


def playbook(prom: str, other_hosts: str) -> str:
    return (
        f'drill: plan probes\nrollback_type: 2\nvars: {{prom: "{prom}"}}\n'
        "probes:\n"
        "  up:\n"
        '    prometheus: {url: "http://{{ prom }}", query: up, expect: {op: "==", value: 1}}\n'
        "  health:\n"
        '    http: {url: "http://{{ prom }}/health"}\n'
        "  port:\n"
        "    tcp: {host: 127.0.0.1, port: 22}\n"
        "  other:\n"
        f"    hosts: {other_hosts}\n"
        "    tcp: {host: 127.0.0.1, port: 22}\n"
        "deploy:\n"
        "  - {name: change, shell: echo hi, register: out}\n"
        "  - {name: after, shell: echo again, when: out.rc == 0}\n"
        "  - {name: never, shell: echo no, when: false}\n"
    )


def plan(tmp_path: Path, text: str, *args: str) -> int:
    (tmp_path / "inv.yml").write_text(INVENTORY)
    (tmp_path / "drill.yml").write_text(text)
    return main(["plan", str(tmp_path / "drill.yml"), "-i", str(tmp_path / "inv.yml"), *args])


def test_bad_probe_urls_and_hosts_are_located_errors_per_host_within_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan(tmp_path, playbook("127.0.0.1:notaport", "web9"), "--limit", "web1") == 2
    path = tmp_path / "drill.yml"
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"{path}:6:23: probe up on web1: url 'http://127.0.0.1:notaport' {PORT} "
        "(a password in it must be URL-encoded, '/' included)",
        f"{path}:8:11: probe health on web1: url 'http://127.0.0.1:notaport/health' {PORT} "
        "(a password in it must be URL-encoded, '/' included)",
        f"{path}:12:12: no host or group named 'web9' in {tmp_path / 'inv.yml'} "
        "(did you mean 'web2'?)",
        "3 errors",
    ]


def test_good_probes_plan_and_conditions_on_registered_results_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A tcp probe's request is not an HTTP request; it plans as it is.
    assert plan(tmp_path, playbook("127.0.0.1:9090", "web2")) == 0
    out = capsys.readouterr().out
    assert out.count("echo again   (when out.rc == 0 (decided at run time))") == 2
    assert out.count("web1:    (skipped: when False is false)") == 1
