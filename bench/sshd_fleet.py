"""Many SSH hosts on one machine: sshd processes listening on many loopback addresses and ports.

A host is one (address, port) socket. OpenSSH listens on at most 16 sockets per sshd, so the
fleet starts one sshd for every 16 hosts, each in the foreground (`-D`) as a child of this
process, so that exactly the processes started here are stopped again (by their ids, never
by a name pattern). Host keys and the user key are throwaway ones made in the fleet's
directory, made and listed in known_hosts as the SSH lab (runner/lab/ssh_lab.py) does: every
host as `[address]:port`, so clients check host keys strictly.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `runner` without an install, for the lab's key helpers

from runner.lab import ssh_lab  # noqa: E402

SSHD = ssh_lab.SSHD
SOCKETS_PER_SSHD = 16  # OpenSSH's MAX_LISTEN_SOCKS


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    port: int


@dataclass
class Fleet:
    root: Path
    hosts: tuple[Host, ...]
    user: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def user_key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> int:
        """Stop every sshd this fleet started (SIGTERM, then SIGKILL); how many were running."""
        running = [p for p in self.processes if p.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return len(running)


def plan_hosts(first_address: str, addresses: int, ports: Sequence[int]) -> tuple[Host, ...]:
    """`addresses` consecutive loopback addresses from `first_address`, each on every port."""
    start = ipaddress.IPv4Address(first_address)
    if not start.is_loopback:
        raise ValueError(f"{first_address} is not a loopback address (127.0.0.0/8)")
    hosts = []
    for i in range(addresses):
        address = start + i
        if not address.is_loopback or str(address).endswith(".255"):
            raise ValueError(f"{address} is outside 127.0.0.0/8 or a broadcast address")
        hosts += [
            Host(f"h{len(hosts) + j:04d}", str(address), port) for j, port in enumerate(ports)
        ]
    return tuple(hosts)


def check_free(hosts: Sequence[Host]) -> list[Host]:
    """The hosts whose socket someone else already holds (those sshd could not bind)."""
    taken = []
    for host in hosts:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host.address, host.port))
            except OSError:
                taken.append(host)
    return taken


def start(root: Path, hosts: Sequence[Host], max_sessions: int) -> Fleet:
    """Start the sshd processes for `hosts` and wait until every socket accepts."""
    root = root.resolve()  # sshd re-executes itself per connection: paths must be absolute
    root.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation dir
    fleet = Fleet(root, tuple(hosts), getpass.getuser())
    ssh_lab.keygen(fleet.user_key, "drillctl-bench-user")
    shutil.copyfile(fleet.user_key.with_suffix(".pub"), root / "authorized_keys")
    known = []
    try:
        for n, at in enumerate(range(0, len(hosts), SOCKETS_PER_SSHD)):
            group = hosts[at : at + SOCKETS_PER_SSHD]
            here = root / f"sshd-{n:03d}"
            here.mkdir(exist_ok=True)
            host_key = here / "ssh_host_ed25519_key"
            ssh_lab.keygen(host_key, f"drillctl-bench-{n}")
            known += [ssh_lab.known_hosts_line(h.address, h.port, host_key) for h in group]
            config = here / "sshd_config"
            config.write_text(_config(root, group, host_key, max_sessions))
            log = here / "sshd.log"
            fleet.processes.append(
                subprocess.Popen(
                    [SSHD, "-D", "-f", str(config), "-E", str(log)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        fleet.known_hosts.write_text("\n".join(known) + "\n")
        _wait_listening(fleet)
    except BaseException:
        fleet.stop()
        raise
    return fleet


def _config(root: Path, group: Sequence[Host], host_key: Path, max_sessions: int) -> str:
    listen = [f"ListenAddress {h.address}:{h.port}" for h in group]
    return "\n".join(
        [
            *listen,
            f"HostKey {host_key}",
            "PidFile none",
            f"AuthorizedKeysFile {root / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PrintMotd no",
            "UseDNS no",
            # Every client connects at once: no random early drops, and enough sessions.
            f"MaxStartups {max_sessions}:100:{max_sessions}",
            f"MaxSessions {max_sessions}",
            "LogLevel ERROR",
            # A clean shell: bash under sshd sources ~/.bashrc unless SHLVL says otherwise.
            "SetEnv LC_ALL=C.UTF-8 SHLVL=1",
            "",
        ]
    )


def _wait_listening(fleet: Fleet, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(fleet.hosts)
    while pending:
        dead = [p for p in fleet.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(
                f"{len(dead)} sshd exited at start; see {fleet.root}/sshd-*/sshd.log"
            )
        pending = [h for h in pending if not _accepts(h)]
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} host sockets never accepted, e.g. {pending[0]}")
        if pending:
            time.sleep(0.1)


def _accepts(host: Host) -> bool:
    try:
        with socket.create_connection((host.address, host.port), timeout=1):
            return True
    except OSError:
        return False


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU the listeners and the sessions they reaped have used (utime+stime+cutime+cstime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / ticks
