"""The lab's server side: what its sshd processes spend, and a clean shell for them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Sequence
from pathlib import Path

import contenders  # noqa: F401  (puts the repository on sys.path)

from runner.errors import TargetEnvironmentError
from runner.lab import ssh_lab

CLK_TCK = os.sysconf("SC_CLK_TCK")


def sshd_pids(lab_root: Path) -> list[int]:
    pids = []
    for pidfile in lab_root.glob("127.0.0.*/sshd.pid"):
        with contextlib.suppress(OSError, ValueError):
            pids.append(int(pidfile.read_text().strip()))
    return pids


def sshd_cpu(pids: Sequence[int]) -> float:
    """CPU seconds the sshd listeners and the sessions they reaped have used so far."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


def wait_sshd_idle(pids: Sequence[int], timeout: float = 10.0) -> None:
    """Wait until every sshd listener has reaped its sessions, so their CPU is counted."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        children = Path(f"/proc/{pid}/task/{pid}/children")
        while time.monotonic() < deadline:
            try:
                if not children.read_text().strip():
                    break
            except OSError:
                break
            time.sleep(0.02)


def clean_shell(lab: ssh_lab.SshLab) -> None:
    """Restart the lab's sshd with SetEnv SHLVL=1 so bash skips ~/.bashrc (--clean-shell).

    bash sources ~/.bashrc for every command sshd runs (it sees SSH_CLIENT) unless SHLVL
    says it is not a top-level shell. Here root's ~/.bashrc runs `pyenv init`, ~100
    processes and a `pyenv rehash` lock that serialises concurrent sessions in 100 ms
    steps: that, not sshd, is the ~50 ms per exec. sshd keeps only its first SetEnv line.
    """
    for address in lab.addresses:
        config = lab.root / address / "sshd_config"
        lines = config.read_text().splitlines()
        if any("SHLVL=" in line for line in lines):
            continue
        at = next((i for i, line in enumerate(lines) if line.startswith("SetEnv ")), None)
        if at is None:
            lines.append("SetEnv SHLVL=1")
        else:
            lines[at] += " SHLVL=1"
        config.write_text("\n".join(lines) + "\n")
        pid = int((lab.root / address / "sshd.pid").read_text().strip())
        os.kill(pid, signal.SIGHUP)  # sshd re-executes itself and rereads its config
    time.sleep(0.5)
    deadline = time.monotonic() + 15
    for address in lab.addresses:
        while not _listening(address, lab.port):
            if time.monotonic() > deadline:
                raise TargetEnvironmentError(f"sshd on {address} did not come back after SIGHUP")
            time.sleep(0.05)


def _listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False
