"""Acceptance: the quick-start drill runs unchanged against containers (busybox lab)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab import docker_lab
from tests.conftest import run_drillctl

pytestmark = pytest.mark.integration

# Unique per run: two runs of the suite on one machine must not share containers.
PREFIX = f"drillctl-test-qs-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def lab_containers(docker_engine: Any) -> Iterator[docker_lab.DockerLab]:
    # Ports Docker picks as it binds them: two free ports found beforehand can be taken by
    # another suite on the machine before the containers bind them.
    lab = docker_lab.up(2, first_port=0, prefix=PREFIX)
    yield lab
    docker_lab.down(prefix=PREFIX)


def test_quickstart_runs_unchanged_against_the_docker_lab(
    lab_containers: docker_lab.DockerLab, tmp_path: Path
) -> None:
    inventory = yaml.safe_load(Path("inventories/docker-lab.yml").read_text())
    hosts = {
        name: {"lab_url": f"http://127.0.0.1:{port}"}
        for name, port in zip(lab_containers.containers, lab_containers.ports, strict=True)
    }
    inventory["all"]["children"]["gateway"]["hosts"] = hosts
    inv = tmp_path / "docker-lab.yml"
    inv.write_text(yaml.safe_dump(inventory))
    out = tmp_path / "run"
    proc = run_drillctl("run", "playbooks/quickstart.yml", "-i", str(inv), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["rolled_back"] is True
    assert {s["host"] for s in result["steps"]} == set(lab_containers.containers)
    client = docker_lab.client()
    for name in lab_containers.containers:
        top = client.containers.get(name).exec_run("ps").output.decode()
        assert "nc -ll" not in top, f"the lab service outlived the drill in {name}"
