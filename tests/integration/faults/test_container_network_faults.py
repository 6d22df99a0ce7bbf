"""Container and network faults against a real Docker engine and real network namespaces.

Each test injects, watches the effect from outside, reverts, finds the target exactly as
before, and reverts again (twice must be harmless). Every plan goes through JSON first: a
revert has to work from the journaled plan alone, as `drillctl recover` runs it.
Shell ops, which run on an SSH or local host, run here inside a namespace the test made.
"""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from runner.connections.base import CommandResult
from runner.faults.base import DOCKER, Fault, FaultContext, FaultOp, FaultPlan
from runner.faults.container import (
    ContainerKill,
    ContainerPause,
    ContainerRemove,
    ContainerRestart,
    ContainerStop,
)
from runner.faults.docker_ops import run_docker_op
from runner.faults.network import NetworkDelay, NetworkLoss, NetworkPartition
from runner.inventory.model import Host
from tests.lab.docker_lab import ContainerFactory, busybox_image, docker_engine, make_container
from tests.lab.netns import (
    STATE_SCRIPT,
    NetnsPair,
    kernel_has_netem,
    netfilter_state,
    netns_pair,
)

# Fixtures, imported here rather than in a conftest shared with the SSH fault tests.
__all__ = ["busybox_image", "docker_engine", "make_container", "netns_pair"]

pytestmark = pytest.mark.integration

ECHO = ("nc", "-ll", "-p", "7000", "-e", "/bin/cat")


def docker_host(container: str) -> Host:
    return Host("web", container, "docker", None, None, {}, ())


def planned(fault: Fault, args: Mapping[str, Any], host: Host, run_dir: Path) -> FaultPlan:
    """Plan with a fresh token, then round-trip through JSON as the journal does."""
    plan = fault.plan(args, host, FaultContext(f"t{uuid.uuid4().hex[:8]}", str(run_dir)))
    return FaultPlan.from_json(json.loads(json.dumps(plan.to_json())))


def run(op: FaultOp | None, host: Host, pair: NetnsPair | None = None) -> CommandResult:
    """One op as the engine runs it; `shell` ops run inside the pair's target namespace."""
    assert op is not None
    if op.via == DOCKER:
        return run_docker_op(op, host)
    assert pair is not None, f"{op.via} op needs a namespace: {op.script}"
    proc = pair.sh(pair.target, op.script)
    return CommandResult(proc.returncode, proc.stdout, proc.stderr, 0.0)


def run_all(ops: Sequence[FaultOp], host: Host, pair: NetnsPair | None = None) -> None:
    for op in ops:
        result = run(op, host, pair)
        assert result.rc == 0, f"{op.display()}: {result.stdout} {result.stderr}"


def echo_ok(port: int, timeout: float = 0.5) -> bool:
    """A round trip through the container's echo server, via its published 127.0.0.1 port.

    docker-proxy accepts the connection itself, so only the echo proves the path is open.
    """
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"ping\n")
            return s.recv(16) == b"ping\n"
    except OSError:
        return False


def echo_container(make_container: ContainerFactory, **kwargs: Any) -> tuple[Any, int]:
    container = make_container(command=ECHO, ports=["7000/tcp"], **kwargs)
    port = int(container.ports["7000/tcp"][0]["HostPort"])
    deadline = time.monotonic() + 10
    while not echo_ok(port):
        assert time.monotonic() < deadline, "echo server in the container did not answer"
        time.sleep(0.1)
    return container, port


def netns_state(container: Any) -> str:
    """The iptables rules (v4, v6) and qdiscs inside the container's namespace."""
    container.reload()
    argv = ["nsenter", "-t", str(container.attrs["State"]["Pid"]), "-n", "sh", "-c", STATE_SCRIPT]
    return netfilter_state(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)


def comment_of(plan: FaultPlan) -> str:
    return plan.summary.rsplit("comment ", 1)[1].rstrip(")")


# --- container faults -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "args", "during"),
    [
        (ContainerKill(), {}, "exited"),
        (ContainerStop(), {"stop_timeout": "2s"}, "exited"),
        (ContainerPause(), {}, "paused"),
    ],
    ids=["kill", "stop", "pause"],
)
def test_container_fault_holds_until_revert_brings_back_the_same_container(
    make_container: ContainerFactory,
    tmp_path: Path,
    fault: Fault,
    args: dict[str, Any],
    during: str,
) -> None:
    container = make_container()
    host = docker_host(container.name)
    plan = planned(fault, args, host, tmp_path)
    assert run(plan.precheck, host).rc == 0
    run_all(plan.inject, host)
    container.reload()
    assert container.status == during
    assert run(plan.check, host).rc == 0
    for _ in range(2):
        run_all(plan.revert, host)
        container.reload()
        assert (container.status, container.attrs["State"]["Paused"]) == ("running", False)
        assert run(plan.check, host).rc == 1
    assert container.id == make_container.client.containers.get(container.name).id


def test_container_restart_restarts_it_and_revert_only_ensures_it_runs(
    make_container: ContainerFactory, tmp_path: Path
) -> None:
    container = make_container()
    started = container.attrs["State"]["StartedAt"]
    host = docker_host(container.name)
    plan = planned(ContainerRestart(), {"stop_timeout": 1}, host, tmp_path)
    assert plan.check is None  # over as soon as it happened: nothing stays in effect
    run_all(plan.inject, host)
    container.reload()
    assert container.status == "running" and container.attrs["State"]["StartedAt"] != started
    run_all(plan.revert, host)
    run_all(plan.revert, host)
    container.reload()
    assert container.status == "running"


def config_of(client: Any, name: str) -> dict[str, Any]:
    info = client.api.inspect_container(name)
    config = {k: v for k, v in info["Config"].items() if k != "Hostname"}  # defaults to the id
    return {
        "config": config,
        "running": info["State"]["Running"],
        "ports": info["NetworkSettings"]["Ports"],
        "mounts": sorted((m.get("Name", ""), m["Destination"]) for m in info["Mounts"]),
        "restart": info["HostConfig"]["RestartPolicy"],
        "init": info["HostConfig"]["Init"],
    }


def test_container_remove_is_reverted_to_the_same_name_config_and_port(
    make_container: ContainerFactory, tmp_path: Path
) -> None:
    container, port = echo_container(
        make_container,
        environment={"DRILL": "1"},
        volumes={make_container.volume(): {"bind": "/data", "mode": "rw"}},
        restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
    )
    client = make_container.client
    before = config_of(client, container.name)
    host = docker_host(container.name)
    plan = planned(ContainerRemove(), {}, host, tmp_path / "run")
    assert run(plan.revert[0], host).rc == 0  # before inject: nothing removed, nothing done
    assert run(plan.precheck, host).rc == 0
    run_all(plan.inject, host)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container.name)
    snapshot = Path(plan.inject[0].docker["snapshot"])
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600  # it holds the environment
    assert run(plan.check, host).rc == 0
    run_all(plan.revert, host)
    recreated = client.containers.get(container.name).id
    assert recreated != container.id
    run_all(plan.revert, host)  # again: the container is there, nothing to do
    assert client.containers.get(container.name).id == recreated
    assert config_of(client, container.name) == before
    assert run(plan.check, host).rc == 1
    deadline = time.monotonic() + 10
    while not echo_ok(port):
        assert time.monotonic() < deadline, "recreated container does not answer on its port"
        time.sleep(0.1)


def test_precheck_refuses_a_missing_container_before_anything_changes(tmp_path: Path) -> None:
    host = docker_host(f"drillctl-test-missing-{uuid.uuid4().hex[:8]}")
    plan = planned(ContainerKill(), {}, host, tmp_path)
    result = run(plan.precheck, host)
    assert result.rc == 1 and "absent" in result.stderr
    assert "must be running" in plan.precheck_error


# --- network faults on a container --------------------------------------------------------


def test_partition_of_a_container_port_drops_traffic_until_reverted(
    make_container: ContainerFactory, tmp_path: Path
) -> None:
    container, port = echo_container(make_container)
    before = netns_state(container)
    host = docker_host(container.name)
    plan = planned(NetworkPartition(), {"ports": [7000], "direction": "in"}, host, tmp_path)
    assert run(plan.precheck, host).rc == 0
    run_all(plan.inject, host)
    assert run(plan.check, host).rc == 0
    assert not echo_ok(port)
    assert comment_of(plan) in netns_state(container)
    for _ in range(2):
        run_all(plan.revert, host)
        assert netns_state(container) == before
        assert run(plan.check, host).rc == 1
        assert echo_ok(port)
    container.reload()
    assert container.status == "running"


def test_partition_revert_is_a_no_op_once_the_container_restarted_or_stopped(
    make_container: ContainerFactory, tmp_path: Path
) -> None:
    container, port = echo_container(make_container)
    host = docker_host(container.name)
    plan = planned(NetworkPartition(), {"ports": [7000]}, host, tmp_path)
    run_all(plan.inject, host)
    container.restart(timeout=1)  # a new network namespace: the rules died with the old one
    run_all(plan.revert, host)
    assert run(plan.check, host).rc == 1
    assert comment_of(plan) not in netns_state(container)
    run_all(plan.inject, host)
    container.stop(timeout=1)  # no namespace at all
    run_all(plan.revert, host)
    assert run(plan.check, host).rc == 1


def test_delay_precheck_names_sch_netem_and_leaves_the_container_untouched(
    make_container: ContainerFactory, tmp_path: Path
) -> None:
    container, _ = echo_container(make_container)
    before = netns_state(container)
    host = docker_host(container.name)
    plan = planned(NetworkDelay(), {"delay": "100ms"}, host, tmp_path)
    result = run(plan.precheck, host)
    if kernel_has_netem():
        # The precheck passes, and the real delay goes in and comes out again.
        assert result.rc == 0, result.stderr
        run_all(plan.inject, host)
        assert "netem" in netns_state(container) and run(plan.check, host).rc == 0
        run_all(plan.revert, host)
        run_all(plan.revert, host)
        assert netns_state(container) == before and run(plan.check, host).rc == 1
        return
    assert "qdisc kind is unknown" in result.stderr and "sch_netem" in plan.precheck_error
    assert netns_state(container) == before
    run_all(plan.revert, host)  # harmless even though nothing was injected
    assert netns_state(container) == before


# --- network faults in network namespaces (the shell ops of SSH and local hosts) ----------


def test_partition_of_a_peer_blocks_both_ways_but_keeps_the_ssh_port(
    netns_pair: NetnsPair, tmp_path: Path
) -> None:
    pair = netns_pair
    pair.echo_server(pair.target, 7000)
    pair.echo_server(pair.peer, 7001)
    before = pair.state(pair.target)
    host = Host("box", pair.target_ip, "ssh", 22, "root", {}, ())
    plan = planned(NetworkPartition(), {"peers": [pair.peer_ip]}, host, tmp_path)
    assert run(plan.precheck, host, pair).rc == 0
    run_all(plan.inject, host, pair)
    assert run(plan.check, host, pair).rc == 0
    rules = pair.state(pair.target)
    assert f"-s {pair.peer_ip}/32" in rules and "--dport 22" in rules  # drillctl's way back
    assert pair.connects(pair.peer, pair.target_ip, 7000, 1, 0.5) == 0
    assert pair.connects(pair.target, pair.peer_ip, 7001, 1, 0.5) == 0
    for _ in range(2):
        run_all(plan.revert, host, pair)
        assert pair.state(pair.target) == before
        assert run(plan.check, host, pair).rc == 1
    assert pair.connects(pair.peer, pair.target_ip, 7000, 1, 2.0, echo=True) == 1
    assert pair.connects(pair.target, pair.peer_ip, 7001, 1, 2.0, echo=True) == 1


def test_revert_after_a_half_applied_partition_removes_what_is_there(
    netns_pair: NetnsPair, tmp_path: Path
) -> None:
    pair = netns_pair
    before = pair.state(pair.target)
    host = Host("box", pair.target_ip, "local", None, None, {}, ())
    plan = planned(NetworkPartition(), {"ports": [7000, "7001/udp"]}, host, tmp_path)
    run_all(plan.revert, host, pair)  # nothing injected yet: nothing to do
    assert pair.state(pair.target) == before
    half = "\n".join(plan.inject[0].script.splitlines()[:4])  # `set -e` and 3 of 8 rules
    assert pair.sh(pair.target, half).returncode == 0
    assert run(plan.check, host, pair).rc == 0
    run_all(plan.revert, host, pair)
    assert pair.state(pair.target) == before


def test_loss_drops_about_the_given_share_of_connection_attempts(
    netns_pair: NetnsPair, tmp_path: Path
) -> None:
    pair = netns_pair
    pair.echo_server(pair.target, 7000)
    before = pair.state(pair.target)
    host = Host("box", pair.target_ip, "local", None, None, {}, ())
    args = {"loss": 50, "ports": [7000], "direction": "in"}
    plan = planned(NetworkLoss(), args, host, tmp_path)
    run_all(plan.inject, host, pair)
    assert "--probability 0.5" in pair.state(pair.target)
    # Only the SYN is subject to loss (`in`), and a lost SYN is retried after 1 s: a 0.25 s
    # connect fails exactly when its SYN was dropped. 5..35 of 40 at p=0.5: p(miss) < 1e-5.
    succeeded = pair.connects(pair.peer, pair.target_ip, 7000, 40, 0.25)
    assert 5 <= succeeded <= 35
    run_all(plan.revert, host, pair)
    run_all(plan.revert, host, pair)
    assert pair.state(pair.target) == before
    assert pair.connects(pair.peer, pair.target_ip, 7000, 10, 1.0) == 10


def test_delay_precheck_fails_clearly_without_sch_netem_and_changes_nothing(
    netns_pair: NetnsPair, tmp_path: Path
) -> None:
    pair = netns_pair
    before = pair.state(pair.target)
    host = Host("box", pair.target_ip, "local", None, None, {}, ())
    plan = planned(NetworkDelay(), {"delay": "100ms", "interface": "lo"}, host, tmp_path)
    result = run(plan.precheck, host, pair)
    if kernel_has_netem():
        # The precheck passes, and the real delay goes in and comes out again.
        assert result.rc == 0, result.stderr
        run_all(plan.inject, host, pair)
        assert "netem" in pair.sh(pair.target, "tc qdisc show dev lo").stdout
        assert run(plan.check, host, pair).rc == 0
        run_all(plan.revert, host, pair)
        run_all(plan.revert, host, pair)
        assert "netem" not in pair.sh(pair.target, "tc qdisc show dev lo").stdout
        assert pair.state(pair.target) == before
        return
    assert result.rc != 0 and "netem" in result.stderr
    assert "sch_netem" in plan.precheck_error
    assert pair.state(pair.target) == before
    run_all(plan.revert, host, pair)
    assert pair.state(pair.target) == before
