"""pytest fixtures for the SSH lab: real sshd processes on 127.0.0.2.., torn down after."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.lab import ssh_lab
from runner.lab.ssh_lab import SshLab


def require_sshd() -> None:
    """Under CI=true a missing sshd is a failure, never a silent skip."""
    if shutil.which("sshd") or Path(ssh_lab.SSHD).exists():
        return
    message = "sshd is not installed (apt-get install openssh-server)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def ssh_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshLab]:
    """Three sshd hosts shared by tests that do not change them."""
    require_sshd()
    root = tmp_path_factory.mktemp("ssh-lab")
    lab = ssh_lab.up(root, 3)
    yield lab
    ssh_lab.down(root)


@pytest.fixture
def make_ssh_lab(tmp_path: Path) -> Iterator[Callable[[int], SshLab]]:
    """A fresh lab a test may break (stop an sshd, change a key)."""
    require_sshd()
    roots: list[Path] = []

    def make(count: int) -> SshLab:
        root = tmp_path / f"ssh-lab-{len(roots)}"
        roots.append(root)
        return ssh_lab.up(root, count)

    yield make
    for root in roots:
        ssh_lab.down(root)


@dataclass(frozen=True)
class SudoUser:
    """A throwaway non-root login on the SSH lab that may run anything with sudo."""

    name: str
    uid: int
    lab: SshLab


def _require_tools(*tools: str) -> None:
    """Under CI=true a missing tool (or no root to create users) fails; elsewhere it skips."""
    missing = [t for t in tools if not shutil.which(t)]
    message = ""
    if missing:
        message = f"not installed: {', '.join(missing)} (apt-get install -y sudo passwd)"
    elif os.geteuid() != 0:
        message = "creating a system user needs root"
    if message and os.environ.get("CI") == "true":
        pytest.fail(message)
    if message:
        pytest.skip(message)


@pytest.fixture
def sudo_user() -> Iterator[SudoUser]:
    """A fresh system user `dt<hex>` with a home, the lab's user key, and a sudoers.d
    drop-in allowing NOPASSWD sudo for that user only, on a one-host SSH lab it can reach.

    The lab lives in a directory every user may traverse (sshd reads the authorized keys
    as the user logging in). User, home, sudoers file and lab are removed afterwards, even
    when the test fails."""
    yield from _sudo_user(None)


SUDO_PASSWORD = "Sudo-Pw-4711 with spaces"


@pytest.fixture
def sudo_user_with_password() -> Iterator[SudoUser]:
    """As `sudo_user`, but sudo asks for the user's password (SUDO_PASSWORD) every time."""
    yield from _sudo_user(SUDO_PASSWORD)


def _sudo_user(password: str | None) -> Iterator[SudoUser]:
    require_sshd()
    _require_tools("sudo", "useradd", "userdel", "usermod", "visudo", "chpasswd")
    name = f"dt{secrets.token_hex(4)}"
    sudoers = Path("/etc/sudoers.d") / f"drillctl-test-{name}"
    root = Path(tempfile.mkdtemp(prefix="drillctl-become-"))
    created = False
    try:
        root.chmod(0o711)
        lab = ssh_lab.up(root / "lab", 1)
        (lab.root).chmod(0o711)
        (lab.root / "authorized_keys").chmod(0o644)
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True, capture_output=True)
        created = True
        if password is None:
            # A locked password ('!') makes sshd refuse the login when PAM is off; '*' only
            # says no password works, which keeps key logins open.
            subprocess.run(["usermod", "-p", "*", name], check=True, capture_output=True)
            rule = f"{name} ALL=(ALL) NOPASSWD: ALL\n"
        else:
            subprocess.run(
                ["chpasswd"], input=f"{name}:{password}\n", text=True, check=True,
                capture_output=True,
            )  # fmt: skip
            # No cached credentials: sudo asks on every command.
            rule = f"Defaults:{name} timestamp_timeout=0\n{name} ALL=(ALL) ALL\n"
        staged = root / "sudoers"
        staged.write_text(rule)
        subprocess.run(["visudo", "-cqf", str(staged)], check=True, capture_output=True)
        fd = os.open(sudoers, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)
        with os.fdopen(fd, "w") as f:
            f.write(rule)
        yield SudoUser(name, pwd.getpwnam(name).pw_uid, lab)
    finally:
        sudoers.unlink(missing_ok=True)
        if created:
            subprocess.run(["userdel", "-r", "-f", name], capture_output=True, check=False)
        ssh_lab.down(root / "lab")
        shutil.rmtree(root, ignore_errors=True)
