"""SSH integration tests: the SSH lab's fixtures (imported; see tests/lab/ssh_fixtures.py)."""

from tests.lab.ssh_fixtures import make_ssh_lab, ssh_hosts, sudo_user, sudo_user_with_password

__all__ = ["make_ssh_lab", "ssh_hosts", "sudo_user", "sudo_user_with_password"]
