"""Acceptance: Ctrl-C and SIGTERM stop the change, roll back, clean up, exit 130."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env, drillctl_argv, events

pytestmark = pytest.mark.integration

PLAYBOOK = """\
drill: interrupt me
rollback_type: 2
vars: {{dir: "{dir}"}}
prepare:
  - shell: "touch {{{{ dir }}}}/prepared"
deploy:
  - name: slow deploy
    shell: "touch {{{{ dir }}}}/deploying; sleep 30; touch {{{{ dir }}}}/deployed"
rollback:
  - name: roll back
    shell: "{rollback}"
verify:
  - shell: "touch {{{{ dir }}}}/verified"
cleanup:
  - name: clean up
    shell: "touch {{{{ dir }}}}/cleaned"
"""


def start(
    tmp_path: Path, rollback: str = "touch {{ dir }}/rolled-back"
) -> tuple[subprocess.Popen[str], Path]:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(PLAYBOOK.format(dir=tmp_path, rollback=rollback))
    out = tmp_path / "run"
    proc = subprocess.Popen(
        drillctl_argv("run", str(playbook), "--out", str(out)),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out


def wait_for_file(path: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_deploy_runs_rollback_and_cleanup_and_exits_130(
    tmp_path: Path, sig: int
) -> None:
    proc, out = start(tmp_path)
    wait_for_file(tmp_path / "deploying")
    started = time.monotonic()
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert time.monotonic() - started < 10, "the running step was not stopped promptly"
    assert not (tmp_path / "deployed").exists()
    assert (tmp_path / "rolled-back").exists()
    assert (tmp_path / "cleaned").exists()
    assert not (tmp_path / "verified").exists()
    log = events(out)
    assert log[-1]["event"] == "interrupted"
    assert log[-1]["signal"] == signal.Signals(sig).name
    phases = [e["phase"] for e in log if e["event"] == "phase_started"]
    assert phases == ["prepare", "deploy", "rollback", "cleanup"]
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "interrupted"
    verify = subprocess.run(
        drillctl_argv("verify", str(out)), cwd=REPO, env=child_env(), capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout


def test_second_ctrl_c_skips_the_rest_of_rollback_but_cleanup_still_runs(tmp_path: Path) -> None:
    proc, out = start(
        tmp_path, rollback="touch {{ dir }}/rolling; sleep 30; touch {{ dir }}/rolled-back"
    )
    wait_for_file(tmp_path / "deploying")
    proc.send_signal(signal.SIGINT)
    wait_for_file(tmp_path / "rolling")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "skipping the rest of rollback" in stderr + stdout
    assert not (tmp_path / "rolled-back").exists()
    assert (tmp_path / "cleaned").exists()
    assert events(out)[-1]["event"] == "interrupted"


# -- the matrix against a real process: signals from outside, at a step's checkpoint file --

SLOW = "touch {dir}/{name}-reached; sleep {secs}; touch {dir}/{name}-done"


def matrix_drill(
    tmp_path: Path, slow_phase: str, secs: float = 30
) -> tuple[subprocess.Popen[str], Path]:
    """A drill with a fault in inject and one step per phase; the step of `slow_phase`
    touches NAME-reached, sleeps, then touches NAME-done."""
    lines = ["drill: matrix", "rollback_type: 2"]
    for phase in ("prepare", "deploy", "inject", "rollback", "verify", "cleanup"):
        lines.append(f"{phase}:")
        if phase == "inject":
            lines.append(
                f"  - fault: {{kind: custom, name: marker, inject: 'touch {tmp_path}/fault', "
                f"revert: 'rm -f {tmp_path}/fault', check: 'test -f {tmp_path}/fault'}}"
            )
        secs_here = secs if phase == slow_phase else 0
        lines.append(f"  - shell: '{SLOW.format(dir=tmp_path, name=phase, secs=secs_here)}'")
    playbook = tmp_path / "drill.yml"
    playbook.write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        drillctl_argv("run", str(playbook), "--out", str(out)),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, out


def received(out: Path) -> list[tuple[str, str, int]]:
    return [
        (e["signal"], e["phase"], e["count"])
        for e in events(out)
        if e["event"] == "interrupt_received"
    ]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_one_signal_during_rollback_lets_it_finish_and_says_a_second_aborts_it(
    tmp_path: Path, sig: int
) -> None:
    proc, out = matrix_drill(tmp_path, "rollback", secs=1.5)
    wait_for_file(tmp_path / "rollback-reached")
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert (tmp_path / "rollback-done").exists(), "the rollback was abandoned"
    assert "the rollback will finish" in stdout and "aborts the rollback" in stdout
    assert not (tmp_path / "verify-reached").exists()
    assert (tmp_path / "cleanup-done").exists()
    assert not (tmp_path / "fault").exists()
    name = signal.Signals(sig).name
    assert received(out) == [(name, "rollback", 1)]
    assert events(out)[-1]["event"] == "interrupted"


def test_two_sigterms_during_rollback_abort_it_and_cleanup_still_runs(tmp_path: Path) -> None:
    proc, out = matrix_drill(tmp_path, "rollback")
    wait_for_file(tmp_path / "rollback-reached")
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while not received(out):  # the kernel merges a signal sent while one is pending
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert time.monotonic() - started < 10, "the rollback step was not stopped"
    assert not (tmp_path / "rollback-done").exists()
    assert (tmp_path / "cleanup-done").exists()
    assert not (tmp_path / "fault").exists()
    assert received(out) == [("SIGTERM", "rollback", 1), ("SIGTERM", "rollback", 2)]
    assert events(out)[-1]["event"] == "interrupted"


def test_a_signal_during_cleanup_lets_it_finish_and_the_run_exits_130(tmp_path: Path) -> None:
    proc, out = matrix_drill(tmp_path, "cleanup", secs=1)
    wait_for_file(tmp_path / "cleanup-reached")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert (tmp_path / "cleanup-done").exists()
    assert (tmp_path / "verify-done").exists()  # the drill had run to its end
    assert "cleanup is running and will finish" in stdout
    assert received(out) == [("SIGINT", "cleanup", 1)]
    assert json.loads((out / "result.json").read_text())["status"] == "interrupted"
    assert events(out)[-1]["event"] == "interrupted"


def test_a_signal_during_prepare_changes_nothing_and_cleans_up(tmp_path: Path) -> None:
    proc, out = matrix_drill(tmp_path, "prepare")
    wait_for_file(tmp_path / "prepare-reached")
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    for phase in ("prepare-done", "deploy-reached", "inject-reached", "rollback-reached"):
        assert not (tmp_path / phase).exists(), phase
    assert (tmp_path / "cleanup-done").exists()
    phases = [e["phase"] for e in events(out) if e["event"] == "phase_started"]
    assert phases == ["prepare", "cleanup"]
