"""Fault integration tests: the SSH lab's fixtures (see tests/lab/ssh_fixtures.py).

Imported rather than listed in `pytest_plugins`: pytest refuses `pytest_plugins` in a
conftest below the rootdir when the whole suite is collected. Docker fixtures are imported
by the modules that use them.
"""

from tests.lab.ssh_fixtures import make_ssh_lab, ssh_hosts

__all__ = ["make_ssh_lab", "ssh_hosts"]
