"""What `drillctl plan` says of URLs that only exist once rendered: a probe's or an alert
trigger's URL whose template fails, or that renders to a URL that cannot be requested, is bad
input located at the URL, with the template's own error or the URL (credentials left out).

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main

INVENTORY = (
    "all:\n  hosts:\n    web1: {ansible_connection: local}\n    web2: {ansible_connection: local}\n"
)


def drill(alerts: str) -> str:
    return (
        "drill: plan urls\nrollback_type: 2\n"
        'vars: {am: "127.0.0.1:9093", bad: "user:pw@127.0.0.1:notaport"}\n'
        "probes:\n"
        "  up:\n"
        '    prometheus: {url: "http://{{ prom }}", query: up, expect: {op: "==", value: 1}}\n'
        "triggers:\n"
        "  - {probe: up, consecutive_failures: 1}\n"
        f"{alerts}"
        "deploy:\n"
        "  - {name: change, shell: echo hi}\n"
    )


BROKEN = (
    "  - alert: Broken\n"
    '    alertmanager: "http://{{ nope }}"\n'
    "  - alert: BadPort\n"
    '    prometheus: "http://{{ bad }}"\n'
)
FINE = '  - alert: Fine\n    alertmanager: "http://{{ am }}"\n'


def plan(tmp_path: Path, text: str, *args: str) -> int:
    (tmp_path / "inv.yml").write_text(INVENTORY)
    (tmp_path / "drill.yml").write_text(text)
    return main(["plan", str(tmp_path / "drill.yml"), "-i", str(tmp_path / "inv.yml"), *args])


def test_urls_that_fail_once_rendered_are_located_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan(tmp_path, drill(BROKEN + FINE)) == 2  # `prom` is not defined
    path = tmp_path / "drill.yml"
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:6:23: probe up on web1: undefined variable: 'prom' is undefined",
        f"{path}:6:23: probe up on web2: undefined variable: 'prom' is undefined",
        f"{path}:10:19: alert Broken: undefined variable: 'nope' is undefined",
        f"{path}:12:17: alert BadPort: url 'http://127.0.0.1:notaport' has a port that is not "
        "a number from 1 to 65535 (a password in it must be URL-encoded, '/' included)",
        "4 errors",
    ]


def test_alert_urls_that_render_to_a_good_url_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan(tmp_path, drill(FINE), "-e", "prom=127.0.0.1:9090") == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "deploy:\n  - change (shell)" in captured.out


def test_alert_urls_are_checked_even_when_no_host_is_selected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No host, so no host variables: the URL renders without them, and the only finding is
    # that the pattern selects nobody.
    text = (
        "drill: no hosts\nrollback_type: 2\nhosts: web2\n"
        "triggers:\n"
        "  - alert: Fine\n"
        "    alertmanager: \"http://127.0.0.1:9093/{{ 'x' }}\"\n"
        "deploy:\n  - {name: one, shell: echo one}\n"
    )
    assert plan(tmp_path, text, "--limit", "web1") == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'drill.yml'}:3:8: host pattern 'web2' matches no host within --limit 'web1'"
    ]
