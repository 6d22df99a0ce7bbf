"""Acceptance: no fault outlives the drill: Ctrl-C, failures, crashes (kill -9 + recover)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env, drillctl_argv, events, run_drillctl

pytestmark = pytest.mark.integration


def marker_fault(directory: Path, name: str, extra: str = "") -> str:
    return (
        f"    fault: {{kind: custom, name: {name}, inject: 'touch {directory}/{name}', "
        f"revert: 'rm -f {directory}/{name}', check: 'test -f {directory}/{name}'{extra}}}\n"
    )


def drill(directory: Path, inject_tail: str = "", rollback: str = "true") -> str:
    return (
        "drill: ledger\nrollback_type: 2\n"
        "inject:\n"
        "  - name: first\n"
        + marker_fault(directory, "m1")
        + "  - name: second\n"
        + marker_fault(directory, "m2")
        + inject_tail
        + f'rollback:\n  - shell: "{rollback}"\n'
        f'cleanup:\n  - shell: "touch {directory}/cleaned"\n'
    )


def test_ctrl_c_during_inject_reverts_faults_first_then_rolls_back_then_cleans_up(
    tmp_path: Path,
) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(drill(tmp_path, f"  - shell: 'touch {tmp_path}/waiting; sleep 30'\n"))
    out = tmp_path / "run"
    proc = subprocess.Popen(
        drillctl_argv("run", str(playbook), "--out", str(out)),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (tmp_path / "waiting").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (tmp_path / "m1").exists() and (tmp_path / "m2").exists()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert not (tmp_path / "m1").exists() and not (tmp_path / "m2").exists()
    log = [e for e in events(out)]
    order = [
        e["event"] if e["event"].startswith("fault_rev") else f"{e['event']}:{e['phase']}"
        for e in log
        if e["event"] in ("fault_reverted", "phase_started")
    ]
    assert order.index("fault_reverted") < order.index("phase_started:rollback")
    assert order.count("fault_reverted") == 2
    assert order.index("phase_started:rollback") < order.index("phase_started:cleanup")
    assert order[-1] == "phase_started:cleanup"
    assert log[-1]["event"] == "interrupted"


def test_a_fault_with_a_duration_is_reverted_when_it_elapses(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: d\nrollback_type: 2\nrollback_when: failure\ninject:\n  - name: timed\n"
        + marker_fault(tmp_path, "timed", ", duration: 500ms")
        + f"  - shell: 'sleep 1.5; test ! -e {tmp_path}/timed'\n"
    )
    proc = run_drillctl("run", str(playbook), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_failed_inject_is_reverted_at_once_and_starts_the_rollback(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: d\nrollback_type: 2\ninject:\n  - name: half\n"
        f"    fault: {{kind: custom, inject: 'touch {tmp_path}/half; exit 1', "
        f"revert: 'rm -f {tmp_path}/half'}}\n"
        "rollback:\n  - shell: 'true'\n"
        f"verify:\n  - name: the fault is gone\n    shell: 'test ! -e {tmp_path}/half'\n"
    )
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "--out", str(out))
    assert proc.returncode == 0, proc.stdout
    assert not (tmp_path / "half").exists()
    names = [e["event"] for e in events(out)]
    assert names.index("fault_inject_failed") < names.index("fault_reverted")
    assert json.loads((out / "result.json").read_text())["trigger"]["phase"] == "inject"


def test_a_revert_that_keeps_failing_is_reported_loudly_with_the_manual_command(
    tmp_path: Path,
) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: d\nrollback_type: 2\ninject:\n  - name: sticky\n"
        f"    fault: {{kind: custom, inject: 'touch {tmp_path}/sticky', "
        f"revert: 'echo cannot >&2; exit 1'}}\n"
    )
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "--out", str(out))
    assert proc.returncode == 1
    assert "FAULT NOT REVERTED" in proc.stdout and "Run by hand: echo cannot" in proc.stdout
    result = json.loads((out / "result.json").read_text())
    assert result["faults"][0]["revert_failed"] is True
    assert "fault not reverted" in result["reason"]
    assert sum(1 for e in events(out) if e["event"] == "fault_revert_failed") == 1


def test_blast_radius_hits_count_hosts_chosen_with_a_recorded_seed(tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text(
        "all:\n  hosts:\n" + "".join(f"    h{i}: {{connection: local}}\n" for i in range(5))
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: d\nrollback_type: 2\ninject:\n  - name: some\n"
        f"    fault: {{kind: custom, inject: 'touch {tmp_path}/hit-{{{{ inventory_hostname }}}}', "
        f"revert: 'true', count: 2, random: true, seed: 7}}\n"
        "verify:\n  - {name: check, command: 'true'}\n"
    )
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "-i", str(inventory), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hit = sorted(p.name for p in tmp_path.glob("hit-*"))
    targets = next(e for e in events(out) if e["event"] == "fault_targets")
    assert targets["seed"] == 7 and len(targets["hosts"]) == 2
    assert hit == sorted(f"hit-{h}" for h in targets["hosts"])
