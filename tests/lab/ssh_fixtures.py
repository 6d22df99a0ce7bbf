"""pytest fixtures for the SSH lab: real sshd processes on 127.0.0.2.., torn down after."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
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
