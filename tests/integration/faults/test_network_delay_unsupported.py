"""Acceptance: network.delay injects and reverts a real delay where the kernel has sch_netem;
where it lacks it, the run fails clearly, exit 3, and leaves the target exactly as it was."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab import docker_lab
from tests.conftest import run_drillctl
from tests.lab.docker_lab import docker_engine
from tests.lab.netns import kernel_has_netem

pytestmark = pytest.mark.integration
__all__ = ["docker_engine"]

# Unique per run: two runs of the suite on one machine must not share containers.
PREFIX = f"drillctl-test-delay-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def container(docker_engine: Any) -> Iterator[str]:
    lab = docker_lab.up(1, first_port=0, prefix=PREFIX)  # ports Docker picks as it binds
    yield lab.containers[0]
    docker_lab.down(prefix=PREFIX)


def netns_state(name: str) -> str:
    """qdiscs and iptables rules inside the container's network namespace."""
    import subprocess

    pid = docker_lab.client().containers.get(name).attrs["State"]["Pid"]
    out = []
    for cmd in (["tc", "qdisc", "show"], ["iptables-save"]):
        done = subprocess.run(
            ["nsenter", "-t", str(pid), "-n", *cmd], capture_output=True, text=True
        )
        out.append("\n".join(line for line in done.stdout.splitlines() if not line.startswith("#")))
    return "\n".join(out)


def test_network_delay_runs_with_sch_netem_and_otherwise_exits_3_changing_nothing(
    container: str, tmp_path: Path
) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {container: {"connection": "docker"}}}}))
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: delay\nrollback_type: 2\n"
        "inject:\n  - name: slow network\n"
        "    fault: {kind: network.delay, delay: 200ms, duration: 5s}\n"
    )
    before = netns_state(container)
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "-i", str(inventory), "--out", str(out))
    if kernel_has_netem():
        # The delay is injected, reverted when its duration ends, and nothing is left.
        assert proc.returncode == 0, proc.stdout + proc.stderr
        journal = (out / "journal.jsonl").read_text()
        assert '"event":"fault_intent"' in journal and '"event":"fault_reverted"' in journal
        assert netns_state(container) == before
        return
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "sch_netem" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert netns_state(container) == before
    assert '"event":"fault_intent"' not in (out / "journal.jsonl").read_text()
