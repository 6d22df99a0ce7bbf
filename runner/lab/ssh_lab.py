"""A lab of real sshd processes on 127.0.0.2, 127.0.0.3, … for drills and tests.

Each host gets its own sshd (one ListenAddress each), a generated ED25519 host key,
and accepts one generated user key for the current user. Everything lives in one
directory: keys, configs, known_hosts, an inventory, pids.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from runner.errors import TargetEnvironmentError

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
FIRST_ADDRESS = 2  # 127.0.0.1 stays the controller's


@dataclass(frozen=True)
class SshLab:
    root: Path
    addresses: tuple[str, ...]
    port: int
    user: str

    @property
    def user_key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yml"

    def host_key(self, address: str) -> Path:
        return self.root / address / "ssh_host_ed25519_key"


def keygen(path: Path, comment: str) -> None:
    """An unencrypted ED25519 key pair at `path` (and `path`.pub), unless one is there."""
    if not path.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
        )


def known_hosts_line(address: str, port: int, key: Path) -> str:
    """The known_hosts line that trusts the public half of `key` for `[address]:port`."""
    kind, public = key.with_suffix(".pub").read_text().split()[:2]
    return f"[{address}]:{port} {kind} {public}"


def _port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def up(root: Path, count: int, *, port: int | None = None, group: str = "gateway") -> SshLab:
    """Start `count` sshd processes (idempotent) and write known_hosts and an inventory."""
    root = root.resolve()  # sshd re-executes itself per connection: paths must be absolute
    if not Path(SSHD).exists():
        raise TargetEnvironmentError(
            "sshd not found: install openssh-server (apt-get install openssh-server)"
        )
    root.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation dir
    addresses = tuple(f"127.0.0.{FIRST_ADDRESS + i}" for i in range(count))
    port = port or _previous_port(root) or _free_port(addresses[0])
    user = getpass.getuser()
    lab = SshLab(root, addresses, port, user)
    keygen(lab.user_key, "drillctl-lab-user")
    shutil.copyfile(lab.user_key.with_suffix(".pub"), root / "authorized_keys")
    known = []
    for address in addresses:
        (root / address).mkdir(exist_ok=True)
        keygen(lab.host_key(address), f"drillctl-lab-{address}")
        known.append(known_hosts_line(address, port, lab.host_key(address)))
        _start_sshd(lab, address)
    lab.known_hosts.write_text("\n".join(known) + "\n")
    _write_inventory(lab, group)
    (root / "lab.json").write_text(json.dumps({"addresses": addresses, "port": port, "user": user}))
    _wait_until_listening(lab)
    return lab


def _previous_port(root: Path) -> int | None:
    """The port of a lab already in `root`, so `up` twice reuses it (and `down` finds it)."""
    try:
        return int(json.loads((root / "lab.json").read_text())["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _start_sshd(lab: SshLab, address: str) -> None:
    pidfile = lab.root / address / "sshd.pid"
    if _alive(pidfile) and _port_open(address, lab.port):
        return
    config = lab.root / address / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {address}:{lab.port}",
                f"HostKey {lab.host_key(address)}",
                f"PidFile {pidfile}",
                f"AuthorizedKeysFile {lab.root / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PrintMotd no",
                "UseDNS no",
                "MaxStartups 200:30:400",  # fan-out opens many connections at once
                "MaxSessions 200",
                "LogLevel ERROR",
                "Subsystem sftp internal-sftp",
                # A clean shell: with SHLVL unset, bash under sshd sources ~/.bashrc on every
                # exec (here: pyenv init, ~50 ms and a global lock). sshd reads one SetEnv line.
                "SetEnv LC_ALL=C.UTF-8 SHLVL=1",
                "",
            ]
        )
    )
    log = lab.root / address / "sshd.log"
    subprocess.run([SSHD, "-f", str(config), "-E", str(log)], check=True)


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def _wait_until_listening(lab: SshLab, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    pending = list(lab.addresses)
    while pending:
        pending = [a for a in pending if not _port_open(a, lab.port)]
        if pending and time.monotonic() > deadline:
            logs = "; ".join((lab.root / a / "sshd.log").read_text()[-300:] for a in pending)
            raise TargetEnvironmentError(f"sshd did not listen on {', '.join(pending)}: {logs}")
        time.sleep(0.05)


def _write_inventory(lab: SshLab, group: str) -> None:
    hosts = "\n".join(f"        {a}:" for a in lab.addresses)
    lab.inventory.write_text(
        "# Generated by drillctl lab ssh up: one sshd per address.\n"
        "all:\n"
        "  vars:\n"
        "    environment: ssh-lab\n"
        "    connection: ssh\n"
        f"    port: {lab.port}\n"
        f"    user: {lab.user}\n"
        f"    ssh_key_file: {lab.user_key}\n"
        f"    known_hosts: {lab.known_hosts}\n"
        "  children:\n"
        f"    {group}:\n"
        "      vars:\n"
        "        lab_port: 18080\n"
        "      hosts:\n"
        f"{hosts}\n"
    )


def down(root: Path) -> int:
    """Stop every sshd of the lab; return how many were stopped."""
    stopped = 0
    for pidfile in root.resolve().glob("127.0.0.*/sshd.pid"):
        try:
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            stopped += 1
        except (OSError, ValueError):
            pass
        pidfile.unlink(missing_ok=True)
    return stopped
