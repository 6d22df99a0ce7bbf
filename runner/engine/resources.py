"""Open files on the controller: raise the soft limit, and refuse a run the limit cannot carry.

Every SSH host holds one socket for the whole run (two behind a ProxyJump), every Docker
engine a pool of connections, every command in flight a few pipes or sockets. A run that
runs out of descriptors half-way would lose hosts to a local limit and could mistake them
for hosts that are down, so the run is refused before anything starts, with the numbers.
"""

from __future__ import annotations

import resource
from collections.abc import Iterable
from dataclasses import dataclass

from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host

# The interpreter, the journal, the run directory's files, the terminal, the lock, headroom.
BASE_FDS = 64
PER_SSH_HOST = 1
PER_JUMP = 1
# The shared engine client's connection pool (runner/connections/docker_targets.py MAX_POOL_SIZE).
PER_DOCKER_ENGINE = 64
# A command in flight: a local process's pipes (stdin, stdout, stderr and the spawn pipe,
# both ends while it starts) or an HTTP check's socket.
PER_COMMAND_IN_FLIGHT = 8


@dataclass(frozen=True)
class DescriptorNeed:
    """What a run needs, term by term, so a refusal can show its arithmetic."""

    ssh_hosts: int
    jumps: int
    docker_engines: int
    in_flight: int

    @property
    def total(self) -> int:
        return (
            BASE_FDS
            + self.ssh_hosts * PER_SSH_HOST
            + self.jumps * PER_JUMP
            + self.docker_engines * PER_DOCKER_ENGINE
            + self.in_flight * PER_COMMAND_IN_FLIGHT
        )

    def explain(self) -> str:
        parts = [f"{BASE_FDS} base"]
        if self.ssh_hosts:
            parts.append(f"{self.ssh_hosts} SSH hosts x {PER_SSH_HOST}")
        if self.jumps:
            parts.append(f"{self.jumps} jump connections x {PER_JUMP}")
        if self.docker_engines:
            parts.append(f"{self.docker_engines} Docker engines x {PER_DOCKER_ENGINE}")
        parts.append(f"{self.in_flight} commands in flight x {PER_COMMAND_IN_FLIGHT}")
        return " + ".join(parts)


def descriptors_needed(hosts: Iterable[Host], forks: int, probes: int = 0) -> DescriptorNeed:
    """The descriptors a run on `hosts` needs at most, with `forks` workers and `probes`
    probe instances sampling at the same time. A worker runs one host's command at a time,
    so no more commands run at once than there are hosts, whatever `forks` says."""
    from runner.connections.docker_targets import engine_url

    hosts = list(hosts)
    ssh = jumps = 0
    engines: set[str] = set()
    for host in hosts:
        if host.connection == "ssh":
            ssh += 1
            if host.vars.get("proxy_jump"):
                jumps += 1
        elif host.connection == "docker":
            engines.add(engine_url(host))
    return DescriptorNeed(ssh, jumps, len(engines), max(1, min(forks, len(hosts))) + probes)


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft open-file limit to the hard limit; return (soft, hard) after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass  # the limit stays as it was; the check below decides
    return soft, hard


def ensure_descriptors(hosts: Iterable[Host], forks: int, probes: int = 0) -> DescriptorNeed:
    """Raise the limit, then refuse (exit 3, with the numbers) a run it cannot carry."""
    need = descriptors_needed(hosts, forks, probes)
    soft, hard = raise_open_file_limit()
    if need.total > soft:
        hard_text = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
        raise TargetEnvironmentError(
            f"this run needs up to {need.total} open files ({need.explain()}), but the "
            f"controller allows {soft} (hard limit {hard_text}): raise it (ulimit -n "
            f"{need.total}, or LimitNOFILE= for a service) or run on fewer hosts (--limit)"
        )
    return need
