"""Ansible integration tests: the SSH lab's fixtures (see tests/lab/ssh_fixtures.py), and the
folder an Ansible team keeps, with drillctl run in it (see tests/lab/ansible_folder.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.ansible_folder import AnsibleFolder
from tests.lab.ssh_fixtures import make_ssh_lab, ssh_hosts

__all__ = ["ansible_folder", "make_ssh_lab", "ssh_hosts"]


@pytest.fixture
def ansible_folder(tmp_path: Path) -> AnsibleFolder:
    """The test's own temporary folder, as an Ansible team's folder."""
    return AnsibleFolder(tmp_path)
