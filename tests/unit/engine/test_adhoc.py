"""`drillctl exec`, in process: which hosts a pattern and --limit select, and the exit code.

The rule: every selected host runs the command; any unreachable host makes it an
environment error (3), else any failed or timed-out command a failure (1), else 0. A
pattern that matches nothing, or a malformed one, is bad input (2) and nothing runs.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

import runner.connections.pool
from runner.engine.adhoc import run_adhoc, select
from runner.errors import ExitCode, InputError
from runner.inventory import load_inventory
from runner.inventory.model import Host
from tests.fakes.connection import HANG_LIMIT_S, FakeTarget


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> FakeTarget:
    """The fake target behind every connection `exec` opens in this test."""
    fake = FakeTarget()
    monkeypatch.setattr(runner.connections.pool, "default_factories", fake.factories)
    return fake


def hosts_of(tmp_path: Path) -> list[Host]:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n"
        "  children:\n"
        "    web:\n"
        "      hosts:\n"
        "        web1: {connection: local}\n"
        "        web2: {connection: local}\n"
        "    db:\n"
        "      hosts:\n"
        "        db1: {connection: local}\n"
    )
    return sorted(select(load_inventory(path), "all", None), key=lambda h: h.name)


def inventory(tmp_path: Path) -> Path:
    hosts_of(tmp_path)
    return tmp_path / "inventory.yml"


def names(hosts: list[Host]) -> list[str]:
    return sorted(h.name for h in hosts)


def test_a_pattern_selects_its_hosts_and_limit_narrows_them(tmp_path: Path) -> None:
    inv = load_inventory(inventory(tmp_path))
    assert names(select(inv, "web", None)) == ["web1", "web2"]
    assert names(select(inv, "all", "web2:db1")) == ["db1", "web2"]


def test_a_limit_that_leaves_no_host_is_bad_input(tmp_path: Path) -> None:
    inv = load_inventory(inventory(tmp_path))
    with pytest.raises(InputError) as caught:
        select(inv, "web", "db")
    assert "<command line>:1:1: pattern 'web' matches no host" in str(caught.value)


def test_a_host_of_an_unknown_connection_kind_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  hosts:\n    h1: {connection: local}\n    h2: {connection: telnet}\n")
    inv = load_inventory(path)
    assert names(select(inv, "h1", None)) == ["h1"]
    with pytest.raises(InputError) as caught:
        select(inv, "all", None)
    assert "telnet" in str(caught.value)


def test_a_malformed_pattern_is_bad_input_at_the_command_line(tmp_path: Path) -> None:
    inv = load_inventory(inventory(tmp_path))
    with pytest.raises(InputError) as caught:
        select(inv, "nosuchgroup", None)
    text = str(caught.value)
    assert text.startswith("<command line>:1:1: ") and "nosuchgroup" in text.split(": ", 1)[1]


def test_every_host_ok_exits_0_and_prints_each_result(tmp_path: Path, target: FakeTarget) -> None:
    out = io.StringIO()
    code = run_adhoc(hosts_of(tmp_path), "ok ping", forks=2, timeout=5.0, out=out)
    assert code == ExitCode.PASSED
    assert sorted(h for h, _, _ in target.snapshot()) == ["db1", "web1", "web2"]
    lines = out.getvalue().splitlines()
    assert sum(1 for line in lines if "| OK rc=0 |" in line) == 3
    # Each result is its status line, then the command's output line: nothing else.
    assert lines.count("ok ping") == 3 and len(lines) == 6


def test_one_failed_command_exits_1(tmp_path: Path, target: FakeTarget) -> None:
    out = io.StringIO()
    code = run_adhoc(hosts_of(tmp_path)[:1], "fail ping", forks=1, timeout=5.0, out=out)
    assert code == ExitCode.FAILED
    assert "db1 | FAILED rc=1 |" in out.getvalue()


def test_a_timed_out_command_is_failed_not_ok(tmp_path: Path, target: FakeTarget) -> None:
    out = io.StringIO()
    started = time.monotonic()
    code = run_adhoc(hosts_of(tmp_path)[:1], "hang ping", forks=1, timeout=0.05, out=out)
    assert time.monotonic() - started < HANG_LIMIT_S / 2  # stopped at its timeout
    assert code == ExitCode.FAILED
    text = out.getvalue()
    assert "db1 | FAILED rc=-9 |" in text
    assert "timed out after " in text and "s; killed" in text


def test_an_unreachable_host_is_an_environment_error_even_beside_a_failure(
    tmp_path: Path, target: FakeTarget
) -> None:
    target.unreachable = {"web1"}
    out = io.StringIO()
    code = run_adhoc(hosts_of(tmp_path), "fail ping", forks=2, timeout=5.0, out=out)
    assert code == ExitCode.ENVIRONMENT
    assert out.getvalue().endswith("\n")  # every result ends its line, the last one too
    lines = out.getvalue().splitlines()
    at = lines.index("web1 | UNREACHABLE | 0.00s")
    assert lines[at + 1] == "web1: connection refused (fake target)"  # its reason, one line
    assert sum(1 for line in lines if line.startswith("web2 | FAILED rc=1 |")) == 1
    assert "" not in lines and not any("timed out" in line for line in lines)


def test_an_unreachable_host_beside_ok_ones_is_still_an_environment_error(
    tmp_path: Path, target: FakeTarget
) -> None:
    target.unreachable = {"db1"}
    code = run_adhoc(hosts_of(tmp_path), "ok ping", forks=2, timeout=5.0, out=io.StringIO())
    assert code == ExitCode.ENVIRONMENT
    assert sorted(h for h, _, _ in target.snapshot()) == ["web1", "web2"]
