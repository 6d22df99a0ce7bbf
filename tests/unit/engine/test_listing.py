"""`run --list-hosts|--list-tasks|--list-tags|--syntax-check`, in process: what each prints
from the resolved plan, and that nothing runs on a target.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import runner.connections.pool
from runner.cli import main
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import write_inventory

PLAYBOOK = """\
drill: listing
rollback_type: 2
hosts: all
deploy:
  - {name: change, shell: ok change, tags: [web, fast]}
inject:
  - {name: chaos, shell: ok chaos, tags: [chaos]}
rollback:
  - {name: undo, shell: ok undo}
verify:
  - {name: check, shell: ok check}
"""


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> FakeTarget:
    fake = FakeTarget()
    monkeypatch.setattr(runner.connections.pool, "default_factories", fake.factories)
    return fake


def listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: FakeTarget, *args: str
) -> list[str]:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(PLAYBOOK)
    inventory = write_inventory(tmp_path, {"h1": {}, "h2": {}})
    code = main(["run", str(playbook), "-i", inventory, "--out", str(tmp_path / "run"), *args])
    assert code == 0
    assert target.snapshot() == []  # nothing ran
    assert not (tmp_path / "run").exists()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"playbook: {playbook}"
    return out[1:]


def test_list_hosts_names_each_host_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: FakeTarget
) -> None:
    assert listed(tmp_path, capsys, target, "--list-hosts") == [
        "  drill: listing",
        "    hosts (2):",
        "      h1",
        "      h2",
    ]


def test_list_tasks_lists_every_phase_and_its_steps_with_their_tags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: FakeTarget
) -> None:
    lines = listed(tmp_path, capsys, target, "--list-tasks", "--start-at-task", "chaos")
    assert lines == [
        "  drill: listing",
        "    prepare: (no steps)",
        "    deploy: (no steps)",
        "    inject:",
        "      chaos\tTAGS: [chaos]",
        "    rollback:",
        "      undo\tTAGS: []",
        "    verify:",
        "      check\tTAGS: []",
        "    cleanup: (no steps)",
        "    skipped by --start-at-task:",
        "      deploy[0] change",
    ]


def test_list_tags_gives_every_tag_once_sorted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: FakeTarget
) -> None:
    assert listed(tmp_path, capsys, target, "--list-tags") == [
        "  drill: listing\tTAGS: []",
        "      TASK TAGS: [chaos, fast, web]",
    ]


def test_syntax_check_says_what_it_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: FakeTarget
) -> None:
    assert listed(tmp_path, capsys, target, "--syntax-check") == [
        "syntax OK: schema, inventory, host patterns and templates check out"
    ]
