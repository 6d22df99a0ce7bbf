"""Acceptance: `drillctl halt` stops real drill processes the safe way, and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env, drillctl_argv, events

pytestmark = pytest.mark.integration


def drill_text(directory: Path, inject: str, rollback: str) -> str:
    return (
        "drill: halt me\nrollback_type: 2\nhosts: all\n"
        "deploy:\n"
        f"  - shell: 'touch {directory}/deployed'\n"
        "inject:\n"
        "  - name: marker fault\n"
        f"    fault: {{kind: custom, name: marker, inject: 'touch {directory}/fault', "
        f"revert: 'rm -f {directory}/fault', check: 'test -f {directory}/fault'}}\n"
        f"  - shell: '{inject}'\n"
        f"rollback:\n  - shell: '{rollback}'\n"
        f"verify:\n  - shell: 'touch {directory}/verified'\n"
        f"cleanup:\n  - shell: 'touch {directory}/cleaned'\n"
    )


class Drill:
    """One `drillctl run` in a process of its own, on an inventory of its own; `{dir}` in
    the inject and rollback commands is the drill's directory."""

    def __init__(self, directory: Path, env: dict[str, str], inject: str, rollback: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.dir = directory
        playbook = directory / "drill.yml"
        fill = {"dir": str(directory)}
        playbook.write_text(
            drill_text(directory, inject.format_map(fill), rollback.format_map(fill))
        )
        inventory = directory / "inventory.yml"
        inventory.write_text("all:\n  hosts:\n    here: {connection: local}\n")
        self.out = directory / "run"
        self.proc = subprocess.Popen(
            drillctl_argv("run", str(playbook), "-i", str(inventory), "--out", str(self.out)),
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_for(self, name: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not (self.dir / name).exists():
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < deadline, f"{name} never appeared"
            time.sleep(0.05)

    def finish(self) -> tuple[int, str]:
        stdout, stderr = self.proc.communicate(timeout=60)
        return self.proc.returncode, stdout + stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


Lab = tuple[Callable[..., Drill], dict[str, str]]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """A lock directory of this test's own, so `--all` sees this test's drills only."""
    env = child_env(DRILLCTL_LOCK_DIR=str(tmp_path / "locks"))
    started: list[Drill] = []

    def start(name: str, inject: str = "true", rollback: str = "true") -> Drill:
        d = Drill(tmp_path / name, env, inject, rollback)
        started.append(d)
        return d

    yield start, env
    for d in started:
        d.kill()


def halt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        drillctl_argv("halt", *args), cwd=REPO, env=env, capture_output=True, text=True, timeout=90
    )


def test_halt_run_dir_reverts_faults_rolls_back_cleans_up_and_the_run_exits_130(lab: Lab) -> None:
    start, env = lab
    d = start("one", inject="touch {dir}/injecting; sleep 30")
    d.wait_for("injecting")
    assert (d.dir / "fault").exists()
    result = halt(env, str(d.out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SIGTERM sent" in result.stdout
    assert "interrupted" in result.stdout
    code, output = d.finish()
    assert code == 130, output
    assert not (d.dir / "fault").exists()  # reverted
    assert (d.dir / "cleaned").exists()
    assert not (d.dir / "verified").exists()
    log = events(d.out)
    assert log[-1]["event"] == "interrupted" and log[-1]["signal"] == "SIGTERM"
    received = [e for e in log if e["event"] == "interrupt_received"]
    assert [(e["signal"], e["phase"], e["count"]) for e in received] == [("SIGTERM", "inject", 1)]
    phases = [e["phase"] for e in log if e["event"] == "phase_started"]
    assert phases == ["prepare", "deploy", "inject", "rollback", "cleanup"]
    assert json.loads((d.out / "result.json").read_text())["status"] == "interrupted"
    assert (d.out / "report.html").exists()
    assert json.loads((d.out / "halt.json").read_text())["operator"]


def test_halt_during_the_rollback_lets_it_finish_and_a_second_halt_sends_no_signal(
    lab: Lab,
) -> None:
    start, env = lab
    d = start("slow-rollback", rollback="touch {dir}/rolling; sleep 4; touch {dir}/rolled-back")
    d.wait_for("rolling")
    first = halt(env, str(d.out), "--no-wait")
    assert first.returncode == 0, first.stderr
    assert "SIGTERM sent" in first.stdout
    second = halt(env, str(d.out))  # a second SIGTERM would abort the rollback
    assert second.returncode == 0, second.stderr
    assert "already stopping" in second.stdout and "SIGTERM sent" not in second.stdout
    code, output = d.finish()
    assert code == 130
    assert (d.dir / "rolled-back").exists(), output
    assert "the rollback will finish" in output
    received = [e for e in events(d.out) if e["event"] == "interrupt_received"]
    assert len(received) == 1 and received[0]["phase"] == "rollback"


def test_halt_all_stops_every_running_drill(lab: Lab) -> None:
    start, env = lab
    drills = [start(n, inject="touch {dir}/injecting; sleep 30") for n in ("a", "b")]
    for d in drills:
        d.wait_for("injecting")
    result = halt(env, "--all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SIGTERM sent") == 2
    for d in drills:
        code, output = d.finish()
        assert code == 130, output
        assert not (d.dir / "fault").exists() and (d.dir / "cleaned").exists()
    again = halt(env, "--all")
    assert again.returncode == 2
    assert "no drill is running" in again.stderr


def test_halt_refuses_a_finished_run_and_an_empty_controller(lab: Lab, tmp_path: Path) -> None:
    start, env = lab
    d = start("done")
    code, output = d.finish()
    assert code == 0, output
    result = halt(env, str(d.out))
    assert result.returncode == 2
    assert "no drill is running here: it has ended (last event: run_finished)" in result.stderr
    assert not (d.out / "halt.json").exists()
    nothing = halt(env, "--all")
    assert nothing.returncode == 2 and "no drill is running" in nothing.stderr
    usage = halt(env)
    assert usage.returncode == 2 and "give RUN_DIR, or --all" in usage.stderr


def test_halt_never_signals_a_process_that_is_not_that_drill(lab: Lab, tmp_path: Path) -> None:
    """A lock file and a journal naming an unrelated live process: it is left alone."""
    start, env = lab
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run_dir = tmp_path / "forged"
        run_dir.mkdir()
        started = {"seq": 0, "event": "run_started", "pid": bystander.pid, "run_id": "forged"}
        (run_dir / "journal.jsonl").write_text(json.dumps(started) + "\n")
        locks = Path(env["DRILLCTL_LOCK_DIR"])
        locks.mkdir(parents=True, exist_ok=True)
        (locks / "forged.lock").write_text(json.dumps({"pid": bystander.pid, "run_id": "x"}))
        by_dir = halt(env, str(run_dir))
        assert by_dir.returncode == 2
        assert f"pid {bystander.pid} is not this drill's runner" in by_dir.stderr
        by_all = halt(env, "--all")
        assert by_all.returncode == 2
        # A real drill alongside is halted; the bystander still is not.
        d = start("real", inject="touch {dir}/injecting; sleep 30")
        d.wait_for("injecting")
        both = halt(env, "--all")
        assert both.returncode == 0 and both.stdout.count("SIGTERM sent") == 1
        assert d.finish()[0] == 130
        time.sleep(0.2)
        assert bystander.poll() is None, "an unrelated process was signalled"
        os.kill(bystander.pid, 0)
    finally:
        bystander.kill()
        bystander.wait()
