"""Docker integration tests: the docker lab's fixtures.

Imported rather than listed in `pytest_plugins`: pytest refuses `pytest_plugins` in a
conftest below the rootdir when the whole suite is collected (`pytest` with no arguments).
"""

from tests.lab.docker_lab import busybox_image, docker_engine, make_container

__all__ = ["busybox_image", "docker_engine", "make_container"]
