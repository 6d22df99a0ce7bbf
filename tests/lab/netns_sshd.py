"""An sshd inside a test's network namespace, so a test can black-hole it with iptables.

The controller (drillctl) runs in the pair's peer namespace and reaches the sshd over
the veth pair; `iptables -A INPUT -j DROP` in the target namespace then drops every packet
the host receives, as a host that vanished from the network would.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.lab import ssh_lab
from tests.lab.netns import NetnsPair
from tests.lab.processes import descendants, kill_all
from tests.lab.ssh_fixtures import require_sshd

PORT = 2222


@dataclass(frozen=True)
class NamespacedSshd:
    pair: NetnsPair
    root: Path
    port: int = PORT

    @property
    def address(self) -> str:
        return self.pair.target_ip

    def drop_everything(self) -> None:
        """From now on the host receives nothing: its packets vanish, nothing answers."""
        done = self.pair.sh(self.pair.target, "iptables -A INPUT -j DROP")
        assert done.returncode == 0, done.stderr

    def inventory_lines(self, name: str) -> str:
        """The YAML of one host entry reaching this sshd."""
        return (
            f"    {name}:\n"
            f"      address: {self.address}\n"
            "      connection: ssh\n"
            f"      port: {self.port}\n"
            f"      user: {getpass.getuser()}\n"
            f"      ssh_key_file: {self.root / 'id_ed25519'}\n"
            f"      known_hosts: {self.root / 'known_hosts'}\n"
        )


@pytest.fixture
def netns_sshd(netns_pair: NetnsPair, tmp_path: Path) -> Iterator[NamespacedSshd]:
    """sshd on the target namespace's address; every process it served is killed after."""
    require_sshd()
    root = (tmp_path / "netns-sshd").resolve()
    root.mkdir()
    for name in ("id_ed25519", "host_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True
        )
    (root / "authorized_keys").write_text((root / "id_ed25519.pub").read_text())
    kind, key = (root / "host_key.pub").read_text().split()[:2]
    (root / "known_hosts").write_text(f"[{netns_pair.target_ip}]:{PORT} {kind} {key}\n")
    pidfile = root / "sshd.pid"
    (root / "sshd_config").write_text(
        f"ListenAddress {netns_pair.target_ip}:{PORT}\n"
        f"HostKey {root / 'host_key'}\n"
        f"PidFile {pidfile}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nUseDNS no\n"
        "LogLevel ERROR\nSetEnv LC_ALL=C.UTF-8 SHLVL=1\n"
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ip", "netns", "exec", netns_pair.target, ssh_lab.SSHD, "-f", str(root / "sshd_config")],
        check=True,
    )
    listener = 0
    try:
        deadline = time.monotonic() + 10
        while f":{PORT:04X} " not in netns_pair.sh(netns_pair.target, "cat /proc/net/tcp").stdout:
            assert time.monotonic() < deadline, "sshd in the namespace did not listen"
            time.sleep(0.05)
        listener = int(pidfile.read_text().strip())
        yield NamespacedSshd(netns_pair, root)
    finally:
        if listener:
            sessions = descendants(listener)
            with contextlib.suppress(ProcessLookupError):
                os.kill(listener, signal.SIGKILL)
            kill_all(sessions)
