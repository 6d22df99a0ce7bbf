"""Ansible integration tests: the SSH lab's fixtures (see tests/lab/ssh_fixtures.py)."""

from tests.lab.ssh_fixtures import make_ssh_lab, ssh_hosts

__all__ = ["make_ssh_lab", "ssh_hosts"]
