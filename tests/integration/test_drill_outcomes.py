"""How a drill ends: rollback on a failed deploy, exit 1 on a failing verify, cleanup always."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import events, run_drillctl

pytestmark = pytest.mark.integration


def run(
    write_playbook: Any, tmp_path: Path, text: str, *extra: str
) -> tuple[int, str, dict[str, Any], Path]:
    playbook = write_playbook(text.replace("DIR", str(tmp_path)))
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "--out", str(out), *extra)
    result = json.loads((out / "result.json").read_text()) if (out / "result.json").exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, result, out


def test_failed_deploy_step_starts_rollback_and_skips_inject(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, result, _ = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 1
        rollback_when: failure
        deploy:
          - {name: ship it, shell: "exit 4"}
          - {name: never, shell: "touch DIR/after-failure"}
        inject:
          - {name: fault, shell: "touch DIR/injected"}
        rollback:
          - {name: undo, shell: "touch DIR/rolled-back"}
        verify:
          - {name: check, shell: "test -f DIR/rolled-back"}
        """,
    )
    assert rc == 0, output
    assert (tmp_path / "rolled-back").exists()
    assert not (tmp_path / "after-failure").exists()
    assert not (tmp_path / "injected").exists()
    assert result["trigger"]["kind"] == "step_failed"
    assert result["trigger"]["step"] == "ship it"
    assert result["rolled_back"] is True


def test_failing_verify_after_rollback_exits_1_and_names_the_check(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, result, _ = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        deploy:
          - {name: ship it, shell: "exit 1"}
        rollback:
          - {name: undo, shell: "true"}
        verify:
          - {name: version is back to 3.1.2, shell: "echo running 3.2.0; exit 1"}
        cleanup:
          - {name: tidy, shell: "touch DIR/cleaned"}
        """,
    )
    assert rc == 1, output
    assert result["status"] == "failed"
    assert "version is back to 3.1.2" in result["reason"]
    assert "version is back to 3.1.2" in output
    assert (tmp_path / "cleaned").exists()


def test_failed_verify_with_rollback_on_failure_starts_rollback_then_verifies_again(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, result, out = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        rollback_when: failure
        deploy:
          - shell: "true"
        rollback:
          - {name: undo, shell: "touch DIR/rolled-back"}
        verify:
          - {name: healthy, shell: "test -f DIR/rolled-back"}
        """,
    )
    assert rc == 0, output
    phases = [e["phase"] for e in events(out) if e["event"] == "phase_started"]
    assert phases == ["prepare", "deploy", "inject", "verify", "rollback", "verify", "cleanup"]
    assert result["trigger"]["phase"] == "verify"


def test_nothing_failed_and_rollback_on_failure_keeps_the_change(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, result, _ = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        rollback_when: failure
        deploy: [{shell: "true"}]
        rollback: [{shell: "touch DIR/rolled-back"}]
        verify: [{shell: "true"}]
        """,
    )
    assert rc == 0, output
    assert result["rolled_back"] is False
    assert not (tmp_path / "rolled-back").exists()


def test_failed_prepare_skips_the_drill_but_still_cleans_up(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, result, _ = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        prepare: [{name: baseline, shell: "exit 1"}]
        deploy: [{shell: "touch DIR/deployed"}]
        cleanup: [{shell: "touch DIR/cleaned"}]
        """,
    )
    assert rc == 1
    assert "baseline" in result["reason"]
    assert not (tmp_path / "deployed").exists()
    assert (tmp_path / "cleaned").exists()


def test_failed_rollback_fails_the_drill(write_playbook: Any, tmp_path: Path) -> None:
    rc, _, result, _ = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        deploy: [{shell: "true"}]
        rollback: [{name: undo, shell: "exit 3"}]
        """,
    )
    assert rc == 1
    assert result["rollback_succeeded"] is False
    assert "rollback failed" in result["reason"]


def test_step_timeout_kills_the_command_and_its_children(
    write_playbook: Any, tmp_path: Path
) -> None:
    # A duration of this test's own: another suite on the machine runs the same test, and
    # the process list below must show only what this one started.
    sleeper = f"sleep 37.{uuid.uuid4().int % 10**6:06d}"
    rc, output, result, _ = run(
        write_playbook,
        tmp_path,
        f"""\
        drill: d
        rollback_type: 2
        rollback_when: failure
        deploy:
          - {{name: hangs, shell: "{sleeper} & {sleeper}; touch DIR/finished", timeout: 1s}}
        """,
    )
    step = next(s for s in result["steps"] if s["name"] == "hangs")
    assert step["status"] == "failed"
    assert 0.9 < step["duration_s"] < 5
    assert "timed out" in step["msg"]
    import subprocess

    assert (
        sleeper not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    )


def test_retries_until_when_loop_register_and_ignore_errors(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, result, _ = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        rollback_when: failure
        vars: {flavours: [a, b, c]}
        deploy:
          - name: count attempts
            shell: "echo x >> DIR/attempts; wc -l < DIR/attempts"
            register: attempts
            until: attempts.stdout | int >= 3
            retries: 5
            delay: 10ms
          - name: one file per item
            shell: "touch DIR/item-{{ item }}"
            loop: "{{ flavours }}"
          - name: skipped
            shell: "touch DIR/skipped"
            when: attempts.stdout | int > 10
          - name: tolerated failure
            shell: "exit 9"
            ignore_errors: true
          - name: uses the registered value
            assert: {that: ["attempts.stdout | int == 3", "attempts.rc == 0"]}
        """,
    )
    assert rc == 0, output
    assert (tmp_path / "attempts").read_text().count("x") == 3
    assert all((tmp_path / f"item-{i}").exists() for i in "abc")
    assert not (tmp_path / "skipped").exists()
    statuses = {s["name"]: s["status"] for s in result["steps"]}
    assert statuses["skipped"] == "skipped"
    assert statuses["tolerated failure"] == "ignored"
    assert statuses["uses the registered value"] == "ok"
    assert result["rolled_back"] is False


def test_run_once_runs_on_the_first_host_only(write_playbook: Any, tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text(
        "all:\n  hosts:\n    h1: {connection: local}\n    h2: {connection: local}\n"
    )
    rc, output, result, _ = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        rollback_when: failure
        deploy:
          - {shell: "echo {{ inventory_hostname }} >> DIR/once", run_once: true}
          - {shell: "echo {{ inventory_hostname }} >> DIR/each"}
        """,
        "-i",
        str(inventory),
    )
    assert rc == 0, output
    assert (tmp_path / "once").read_text().split() == ["h1"]
    assert sorted((tmp_path / "each").read_text().split()) == ["h1", "h2"]


def test_tags_select_steps(write_playbook: Any, tmp_path: Path) -> None:
    rc, output, _, _ = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        rollback_when: failure
        deploy:
          - {shell: "touch DIR/fast", tags: [fast]}
          - {shell: "touch DIR/slow", tags: slow}
          - {shell: "touch DIR/always", tags: [always]}
        """,
        "--tags",
        "fast",
    )
    assert rc == 0, output
    assert (tmp_path / "fast").exists() and (tmp_path / "always").exists()
    assert not (tmp_path / "slow").exists()


def test_terminal_lists_the_same_issues_as_the_reports(write_playbook: Any, tmp_path: Path) -> None:
    rc, output, result, out = run(
        write_playbook,
        tmp_path,
        """\
        drill: d
        rollback_type: 2
        deploy:
          - {name: ship it, shell: "true"}
        rollback:
          - {name: undo, shell: "exit 3"}
        verify:
          - {name: check, shell: "true"}
        """,
    )
    assert rc == 1, output
    issue = "rollback / undo [localhost] failed (rc 3): exit code 3"
    assert f"issue: {issue}" in output
    assert {"kind": "step", "text": issue} in result["issues"]
    assert issue in (out / "report.html").read_text()
