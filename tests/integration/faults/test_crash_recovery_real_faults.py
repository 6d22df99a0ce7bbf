"""Acceptance (torture): kill -9 the runner at 30 points of a drill injecting real faults on
real targets; after `drillctl recover` no fault remains: no stopped process, no mutated
file, no paused container, no iptables rule."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab import docker_lab
from tests.conftest import run_drillctl
from tests.integration.faults.crash import journal_lines, kill_points, run_and_kill_at
from tests.lab.docker_lab import docker_engine

pytestmark = pytest.mark.integration
__all__ = ["docker_engine"]

# A sleep no other run of the suite starts: the fault's pattern must match this run's only.
SLEEP = f"{uuid.uuid4().int % 900 + 3000}.{uuid.uuid4().int % 10**6:06d}"
# Unique per run: two runs of the suite on one machine must not share containers.
PREFIX = f"drillctl-test-torture-{uuid.uuid4().hex[:6]}"
POINTS = 30
ORIGINAL = "listen=8080\nmode=safe\n"


@pytest.fixture
def targets(
    docker_engine: Any, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    lab = docker_lab.up(1, first_port=0, prefix=PREFIX)  # ports Docker picks as it binds
    worker = subprocess.Popen(["sleep", SLEEP])  # the process the drill pauses
    conf = tmp_path / "app.conf"
    conf.write_text(ORIGINAL)
    yield lab.containers[0], worker, conf
    os.kill(worker.pid, signal.SIGCONT)
    worker.kill()
    worker.wait()
    docker_lab.down(prefix=PREFIX)


def playbook(tmp_path: Path, container: str, conf: Path) -> Path:
    path = tmp_path / "torture.yml"
    local = {"hosts": "localhost"}
    inject = [
        {
            "name": "pause the worker",
            **local,
            "fault": {"kind": "process.pause", "pattern": f"sleep {SLEEP}", "failsafe": "10m"},
        },
        {
            "name": "mutate the config",
            **local,
            "fault": {"kind": "file.mutate", "path": str(conf), "content": "broken"},
        },
        {
            "name": "partition",
            "hosts": container,
            "fault": {"kind": "network.partition", "ports": [8080]},
        },
        {"name": "pause the container", "hosts": container, "fault": {"kind": "container.pause"}},
        {**local, "pause": "200ms"},
    ]
    drill = {
        "drill": "torture with real faults",
        "rollback_type": 2,
        "hosts": "all",
        "inject": inject,
        "rollback": [{**local, "shell": "true"}],
        "verify": [
            {"name": "the config is the original", **local, "shell": f"grep -qx mode=safe {conf}"},
            {"name": "the container answers", "hosts": container, "shell": "true"},
        ],
    }
    path.write_text(yaml.safe_dump(drill, sort_keys=False))
    return path


def faults_left(container: str, worker: int, conf: Path) -> list[str]:
    left = []
    state = Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0]
    if state == "T":
        left.append("worker still stopped")
    if conf.read_text() != ORIGINAL:
        left.append("config still mutated")
    info = docker_lab.client().containers.get(container)
    if info.status != "running":
        left.append(f"container {info.status}")
    pid = info.attrs["State"]["Pid"]
    rules = subprocess.run(
        ["nsenter", "-t", str(pid), "-n", "iptables-save"], capture_output=True, text=True
    ).stdout
    if "drillctl" in rules:
        left.append("iptables rules left")
    return left


def test_kill_9_at_30_points_then_recover_leaves_no_real_fault(
    targets: tuple[str, subprocess.Popen[bytes], Path], tmp_path: Path
) -> None:
    container, worker, conf = targets
    inventory = tmp_path / "inv.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {"connection": "local"},
                        container: {"connection": "docker"},
                    }
                }
            }
        )
    )
    drill = playbook(tmp_path, container, conf)
    full = tmp_path / "full"
    proc = run_drillctl("run", str(drill), "-i", str(inventory), "--out", str(full))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not faults_left(container, worker.pid, conf)
    total = journal_lines(full)
    points = kill_points(total, POINTS)
    caught = 0
    for n, point in enumerate(points):
        run_dir = tmp_path / f"kill-{n}"
        run_and_kill_at([str(drill), "-i", str(inventory)], run_dir, point)
        caught += bool(faults_left(container, worker.pid, conf))
        rec = run_drillctl("recover", str(run_dir))
        assert rec.returncode == 0, rec.stdout + rec.stderr
        left = faults_left(container, worker.pid, conf)
        assert not left, f"kill at journal line {point}/{total}: {left} after recover"
    assert caught >= 5, "the kills must catch faults in effect, or this proves nothing"
