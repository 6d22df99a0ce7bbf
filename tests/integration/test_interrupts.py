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
