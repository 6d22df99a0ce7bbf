"""Acceptance (torture): kill -9 the runner at seeded random points of drills with real faults
on local, SSH and Docker targets, run `drillctl recover`, and find 0 faults left, checked
without drillctl: process states in /proc, container states through the docker SDK, iptables
rules with `iptables -S` in the namespace or container, files by checksum.

Among the faults: a local service that takes 3 s to exit SIGTERM (process.kill, graceful)
and a container whose PID 1 ignores SIGTERM (container.stop waits its grace period).
20 random points per target in CI (plus one forced into a slow inject per lane), each
target's points in two lanes of their own (independent worlds), all six lanes at once (about
a minute and a half); more with DRILLCTL_TORTURE_POINTS, and a failing run replays its kill
points with the DRILLCTL_TORTURE_SEED it printed (the timing of each kill varies).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab.ssh_lab import SshLab
from tests.conftest import events, run_drillctl
from tests.integration.faults.crash import run_and_kill_at
from tests.integration.faults.torture import SEED_ENV, points_per_target, seed, torture
from tests.lab.docker_lab import ContainerFactory, busybox_image, docker_engine, make_container

pytestmark = pytest.mark.integration
__all__ = ["busybox_image", "docker_engine", "make_container"]

ORIGINAL = "listen=8080\nmode=safe\n"
# Takes 3 s to exit on SIGTERM, like a service draining its connections.
SLOW_SERVICE = """\
import signal, sys, time
def drain(*_):
    time.sleep(3.0)
    sys.exit(0)
signal.signal(signal.SIGTERM, drain)
while True:
    time.sleep(1)
"""


# --- ground truth, read without drillctl -------------------------------------------------


def proc_state(pid: int) -> str:
    """The one-letter state of a pid from /proc ('' once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def live_pids_with(marker: str, program: str) -> list[int]:
    """Live (not zombie) processes whose argv[0] is `program` and whose argv holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = argv[0].decode(errors="replace") == program and marker.encode() in argv
        if ours and proc_state(int(entry.name)) not in ("", "Z", "X"):
            found.append(int(entry.name))
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def end_processes(marker: str) -> None:
    """Kill every process this test started (found by its unique marker), even paused."""
    for pid in live_pids_with(f"{marker}-svc", sys.executable):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)


@dataclass
class LocalWorld:
    """Processes and files on this machine, shared by the local and the SSH drills."""

    marker: str
    conf: Path
    conf_sum: str
    worker: subprocess.Popen[bytes]

    def left(self) -> list[str]:
        left = []
        if proc_state(self.worker.pid) == "T":
            left.append(f"worker {self.worker.pid} still stopped")
        services = live_pids_with(f"{self.marker}-svc", sys.executable)
        if len(services) != 1:
            left.append(f"{len(services)} service processes running, not 1: {services}")
        if sha256(self.conf) != self.conf_sum:
            left.append(f"{self.conf} changed")
        return left


def service_argv(marker: str) -> list[str]:
    return [sys.executable, "-c", SLOW_SERVICE, f"{marker}-svc"]


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[[], LocalWorld]]:
    """Factory of local worlds (a slow service, a worker, a config file), all ended after."""
    worlds: list[LocalWorld] = []

    def make() -> LocalWorld:
        marker = f"drillctl-torture-{uuid.uuid4().hex[:10]}"
        conf = tmp_path / f"{marker}.conf"
        conf.write_text(ORIGINAL)
        subprocess.Popen(service_argv(marker), start_new_session=True)
        # GNU sleep adds its arguments up: a unique duration is the worker's marker.
        worker = subprocess.Popen(
            ["sleep", f"{3000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"]
        )
        worlds.append(LocalWorld(marker, conf, sha256(conf), worker))
        return worlds[-1]

    yield make
    for world in worlds:
        end_processes(world.marker)
        os.kill(world.worker.pid, signal.SIGCONT)
        world.worker.kill()
        world.worker.wait()


def local_faults(world: LocalWorld, host: str) -> list[dict[str, Any]]:
    restart = shlex.join(service_argv(world.marker)) + " </dev/null >/dev/null 2>&1 &"
    # The last line of the service's command line (its script has several) is its marker;
    # the shell that restarts it has quotes and redirections after the marker.
    pattern = f"^ ?{world.marker}-svc$"
    return [
        {
            "name": "pause the worker",
            "hosts": host,
            "fault": {"kind": "process.pause", "pattern": shlex.join(world.worker.args)},
        },
        {
            "name": "mutate the config",
            "hosts": host,
            "fault": {"kind": "file.mutate", "path": str(world.conf), "content": "broken"},
        },
        {
            "name": "stop the service gracefully (it takes 3 s)",
            "hosts": host,
            "fault": {
                "kind": "process.kill",
                "pattern": pattern,
                "signal": "TERM",
                "wait": "5s",
                "restart": restart,
                "restart_wait": "3s",
            },
        },
    ]


def drill(tmp_path: Path, name: str, inject: list[dict[str, Any]]) -> Path:
    path = tmp_path / f"{name}.yml"
    local = {"hosts": "localhost"}
    body = {
        "drill": f"torture on {name}",
        "rollback_type": 2,
        "hosts": "all",
        "prepare": [{**local, "shell": "true"}],
        "inject": [*inject, {**local, "pause": "200ms"}],
        "rollback": [{**local, "shell": "true"}],
        # On every host: a paused or stopped container cannot run it.
        "verify": [{"name": "every target answers", "shell": "true"}],
        "cleanup": [{**local, "shell": "true"}],
    }
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def inventory(tmp_path: Path, name: str, hosts: dict[str, dict[str, Any]]) -> Path:
    path = tmp_path / f"{name}-inventory.yml"
    all_hosts = {"localhost": {"connection": "local"}, **hosts}
    path.write_text(yaml.safe_dump({"all": {"hosts": all_hosts}}))
    return path


# --- local: processes, a file, and iptables in a network namespace ----------------------


@pytest.fixture
def make_netns() -> Iterator[Callable[[], str]]:
    """Factory of network namespaces, all deleted after."""
    names: list[str] = []

    def make() -> str:
        names.append(f"dt-{uuid.uuid4().hex[:8]}")
        subprocess.run(["ip", "netns", "add", names[-1]], check=True)
        return names[-1]

    yield make
    for name in names:
        subprocess.run(["ip", "netns", "del", name], check=False)


def netns_rules(ns: str) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", ns, "iptables", "-S"], capture_output=True, text=True, check=True
    ).stdout


@dataclass(frozen=True)
class Target:
    """One target kind's drill and its ground truth, for the torture."""

    name: str
    args: list[str]
    left: Callable[[], list[str]]
    slow_kind: str
    landing_s: float  # from the kill: longer than an operation in flight takes to land


# The slow inject on the local and SSH targets: SIGTERM to a service that drains for 3 s,
# sent after one scan of /proc, and given up (the inject fails) after the fault's `wait`, 5 s.
PROCESS_LANDING_S = 5.0
# The slow inject on Docker: a stop the engine ends with SIGKILL after its 3 s grace period.
DOCKER_LANDING_S = 4.0


def local_target(world: LocalWorld, netns: str, tmp_path: Path, name: str) -> Target:
    rule = "INPUT -p tcp --dport 9 -j DROP"
    ipt = f"ip netns exec {netns} iptables -w"
    block = {
        "name": "block port 9 in the namespace",
        "hosts": "localhost",
        "fault": {
            "kind": "custom",
            "name": "port 9 blocked",
            "inject": f"{ipt} -I {rule}",
            "revert": f"while {ipt} -D {rule} 2>/dev/null; do :; done; "
            f"! {ipt} -C {rule} 2>/dev/null",
            "check": f"{ipt} -C {rule}",
        },
    }
    playbook = drill(tmp_path, name, [block, *local_faults(world, "localhost")])

    def left() -> list[str]:
        rules = netns_rules(netns)
        return world.left() + (["iptables rule left"] if "--dport 9" in rules else [])

    args = [str(playbook), "-i", str(inventory(tmp_path, name, {}))]
    return Target(name, args, left, "process.kill", PROCESS_LANDING_S)


# --- SSH: the same kinds of faults, carried over a real sshd ------------------------------


def ssh_target(lab: SshLab, world: LocalWorld, tmp_path: Path, name: str) -> Target:
    host = {
        "connection": "ssh",
        "address": lab.addresses[0],
        "port": lab.port,
        "user": lab.user,
        "ssh_key_file": str(lab.user_key),
        "known_hosts": str(lab.known_hosts),
    }
    playbook = drill(tmp_path, name, local_faults(world, "ssh1"))
    args = [str(playbook), "-i", str(inventory(tmp_path, name, {"ssh1": host}))]
    return Target(name, args, world.left, "process.kill", PROCESS_LANDING_S)


# --- Docker: a container that ignores SIGTERM, a paused one, iptables in its netns --------

STUBBORN = ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]


def container_rules(container: Any) -> str:
    container.reload()
    pid = str(container.attrs["State"]["Pid"])
    out = ""
    for tool in ("iptables", "ip6tables"):
        out += subprocess.run(
            ["nsenter", "-t", pid, "-n", tool, "-S"], capture_output=True, text=True, check=True
        ).stdout
    return out


def docker_target(make_container: ContainerFactory, tmp_path: Path, name: str) -> Target:
    # PID 1 is the shell itself (no docker-init), and it ignores SIGTERM: a stop takes
    # its whole grace period and ends with SIGKILL.
    stubborn = make_container(command=STUBBORN, init=False)
    net = make_container()
    faults = [
        {
            "name": "partition the service port",
            "hosts": net.name,
            "fault": {"kind": "network.partition", "ports": [8080]},
        },
        {"name": "freeze it", "hosts": net.name, "fault": {"kind": "container.pause"}},
        {
            "name": "stop the stubborn one",
            "hosts": stubborn.name,
            "fault": {"kind": "container.stop", "stop_timeout": "3s"},
        },
    ]
    playbook = drill(tmp_path, name, faults)
    docker_hosts = {c.name: {"connection": "docker"} for c in (stubborn, net)}

    def left() -> list[str]:
        found = []
        for container in (stubborn, net):
            container.reload()
            if container.status != "running":
                found.append(f"{container.name} is {container.status}")
        if net.status == "running" and "drillctl" in container_rules(net):
            found.append("iptables rules left in the container")
        return found

    args = [str(playbook), "-i", str(inventory(tmp_path, name, docker_hosts))]
    return Target(name, args, left, "container.stop", DOCKER_LANDING_S)


# Each target's points run in this many lanes, each on a world of its own (its processes and
# file, namespace, containers): a point is mostly waiting (a service draining, a stop's grace
# period, recover letting an operation land), and waits in separate worlds overlap.
LANES = 2


def test_kill_9_at_random_points_on_local_ssh_and_docker_then_recover_leaves_no_fault(
    make_world: Callable[[], LocalWorld],
    make_netns: Callable[[], str],
    make_ssh_lab: Callable[[int], SshLab],
    make_container: ContainerFactory,
    tmp_path: Path,
) -> None:
    lab = make_ssh_lab(1)
    targets = [
        target
        for lane in range(LANES)
        for target in (
            local_target(make_world(), make_netns(), tmp_path, f"local-{lane}"),
            ssh_target(lab, make_world(), tmp_path, f"ssh-{lane}"),
            docker_target(make_container, tmp_path, f"docker-{lane}"),
        )
    ]
    points, rng_seed = points_per_target(), seed()
    lane_points = math.ceil(points / LANES)
    print(f"torture: seed {rng_seed} (replay: {SEED_ENV}={rng_seed}), {points} points per target")
    # All at once: most of a point is waiting, so the torture takes about as long as its
    # slowest lane.
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        futures = {
            t.name: pool.submit(
                torture,
                t.name,
                t.args,
                tmp_path,
                t.left,
                points=lane_points,
                rng_seed=rng_seed + n,
                slow_kind=t.slow_kind,
                landing_s=t.landing_s,
            )
            for n, t in enumerate(targets)
        }
        results = {name: future.result() for name, future in futures.items()}
    for kind in ("local", "ssh", "docker"):
        lanes = [r for name, r in results.items() if name.startswith(f"{kind}-")]
        done = sum(r.points for r in lanes)
        assert done >= points, f"{kind}: {done} points"
        caught = sum(r.caught_in_effect for r in lanes)
        assert caught >= done // 4, f"{kind}: the kills caught nothing"
        assert all(r.in_flight >= 1 for r in lanes), f"{kind}: a lane never killed mid-operation"


# --- the two slow cases on their own, as specifications -----------------------------------


def intent_line(args: list[str], tmp_path: Path, kind: str) -> int:
    """Run the drill once whole; the journal line of `kind`'s intent."""
    whole = tmp_path / "whole"
    proc = run_drillctl("run", *args, "--out", str(whole))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [
        n + 1
        for n, e in enumerate(events(whole))
        if e["event"] == "fault_intent" and e["kind"] == kind
    ]
    return lines[0]


def test_recover_waits_out_a_graceful_kill_in_progress_then_restarts_the_service(
    make_world: Callable[[], LocalWorld], tmp_path: Path
) -> None:
    local_world = make_world()
    playbook = drill(tmp_path, "slow", local_faults(local_world, "localhost")[2:])
    args = [str(playbook), "-i", str(inventory(tmp_path, "slow", {}))]
    run_dir = tmp_path / "killed"
    line = intent_line(args, tmp_path, "process.kill")
    (old,) = live_pids_with(f"{local_world.marker}-svc", sys.executable)
    run_and_kill_at(args, run_dir, line, after_s=0.5)
    # The run died; the service got SIGTERM before the whole run did, and is draining.
    assert proc_state(old) not in ("", "Z")
    rec = run_drillctl("recover", str(run_dir))
    assert rec.returncode == 0, rec.stdout + rec.stderr
    assert proc_state(old) in ("", "Z"), "recover returned while the old process still drained"
    running = live_pids_with(f"{local_world.marker}-svc", sys.executable)
    assert len(running) == 1 and running != [old], running
    time.sleep(1.0)
    assert live_pids_with(f"{local_world.marker}-svc", sys.executable) == running


def test_recover_waits_out_a_container_stop_in_its_grace_period_then_starts_it(
    make_container: ContainerFactory, tmp_path: Path
) -> None:
    stubborn = make_container(command=STUBBORN, init=False)
    fault = {"kind": "container.stop", "stop_timeout": "4s"}
    playbook = drill(tmp_path, "stop", [{"hosts": stubborn.name, "fault": fault}])
    hosts = {stubborn.name: {"connection": "docker"}}
    args = [str(playbook), "-i", str(inventory(tmp_path, "stop", hosts))]
    run_dir = tmp_path / "killed"
    line = intent_line(args, tmp_path, "container.stop")
    stubborn.reload()
    started_before = stubborn.attrs["State"]["StartedAt"]
    run_and_kill_at(args, run_dir, line, after_s=0.5)
    stubborn.reload()
    assert stubborn.status == "running", "the stop should still be in its grace period"
    rec = run_drillctl("recover", str(run_dir))
    assert rec.returncode == 0, rec.stdout + rec.stderr
    stubborn.reload()
    # The stop landed (SIGKILL after the grace period) and recover started it again.
    assert stubborn.status == "running"
    assert stubborn.attrs["State"]["StartedAt"] != started_before
    assert stubborn.attrs["State"]["FinishedAt"] > started_before
    time.sleep(2.0)
    stubborn.reload()
    assert stubborn.status == "running"
