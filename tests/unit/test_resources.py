"""The descriptors a run needs, term by term."""

from __future__ import annotations

from typing import Any

from runner.engine.resources import (
    BASE_FDS,
    PER_COMMAND_IN_FLIGHT,
    PER_DOCKER_ENGINE,
    descriptors_needed,
)
from runner.inventory.model import Host


def host(name: str, connection: str, **host_vars: Any) -> Host:
    return Host(name, name, connection, None, None, host_vars, ())


def test_each_ssh_host_counts_one_and_a_jump_one_more() -> None:
    hosts = [host(f"h{i}", "ssh") for i in range(100)] + [host("j", "ssh", proxy_jump="bastion")]
    need = descriptors_needed(hosts, forks=10)
    assert (need.ssh_hosts, need.jumps) == (101, 1)
    assert need.total == BASE_FDS + 101 + 1 + 10 * PER_COMMAND_IN_FLIGHT


def test_docker_hosts_count_per_engine_not_per_container() -> None:
    hosts = [host(f"c{i}", "docker", docker_host="unix:///a.sock") for i in range(50)]
    hosts.append(host("other", "docker", docker_host="tcp://127.0.0.1:2375"))
    need = descriptors_needed(hosts, forks=5, probes=3)
    assert need.docker_engines == 2
    assert need.total == BASE_FDS + 2 * PER_DOCKER_ENGINE + 8 * PER_COMMAND_IN_FLIGHT


def test_local_hosts_only_count_what_runs_at_once() -> None:
    need = descriptors_needed([host(f"l{i}", "local") for i in range(500)], forks=10)
    assert need.total == BASE_FDS + 10 * PER_COMMAND_IN_FLIGHT
    assert "500" not in need.explain()


def test_forks_beyond_the_hosts_add_no_commands_in_flight() -> None:
    # One host cannot run two commands at once, however many workers --forks allows: a huge
    # --forks with one host asked for 8 x 10^20 open files and was refused.
    one = [host("h0", "ssh")]
    assert descriptors_needed(one, forks=10**20).in_flight == 1
    assert descriptors_needed(one, forks=10**20, probes=2).total == (
        BASE_FDS + 1 + 3 * PER_COMMAND_IN_FLIGHT
    )
    three = (host(f"l{i}", "local") for i in range(3))  # any iterable, read once
    assert descriptors_needed(three, forks=50).in_flight == 3
    assert descriptors_needed([host(f"l{i}", "local") for i in range(30)], forks=4).in_flight == 4
