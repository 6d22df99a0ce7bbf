"""A lab of containers running the busybox lab service, for drills and tests.

The image is built FROM scratch with the host's static busybox (Debian's busybox-static):
no registry is needed. Ports are published on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import TargetEnvironmentError

IMAGE = "drillctl-lab:1"
LABEL = "drillctl-lab"
SERVICE_PORT = 8080
BUSYBOX = Path("/bin/busybox")
_SCRIPTS = Path(__file__).parent / "busybox"

DOCKERFILE = b"""\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY lab lab-http /bin/
CMD ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
"""


@dataclass(frozen=True)
class DockerLab:
    containers: tuple[str, ...]
    ports: tuple[int, ...]


def client() -> Any:
    import docker

    try:
        c = docker.from_env()
        c.ping()
        return c
    except Exception as exc:  # the SDK raises several unrelated types here
        raise TargetEnvironmentError(
            f"docker engine is not reachable: {exc}; start dockerd or set DOCKER_HOST"
        ) from None


def build_image(docker_client: Any) -> str:
    """Build (or reuse) the lab image; return its id."""
    busybox = Path(shutil.which("busybox") or BUSYBOX)
    if not busybox.exists():
        raise TargetEnvironmentError("busybox not found: apt-get install busybox-static")
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        _add(tar, "Dockerfile", DOCKERFILE, 0o644)
        _add(tar, "busybox", busybox.read_bytes(), 0o755)
        for name in ("lab", "lab-http"):
            _add(tar, name, (_SCRIPTS / name).read_bytes(), 0o755)
    context.seek(0)
    image, _ = docker_client.images.build(
        fileobj=context, custom_context=True, tag=IMAGE, rm=True, labels={LABEL: "1"}
    )
    return str(image.id)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def up(count: int, *, first_port: int = 18081, prefix: str = "drillctl-lab") -> DockerLab:
    """Start `count` lab containers named PREFIX-1.., port 8080 published on 127.0.0.1, on
    `first_port` and up; `first_port=0`: on ports Docker picks free as it binds them."""
    c = client()
    build_image(c)
    names: list[str] = []
    ports: list[int] = []
    try:
        for i in range(count):
            name = f"{prefix}-{i + 1}"
            _remove(c, name)
            names.append(name)  # before it runs: a container that fails to start still exists
            port = ("127.0.0.1", first_port + i if first_port else None)
            container = c.containers.run(
                IMAGE, name=name, detach=True, labels={LABEL: "1"},
                ports={f"{SERVICE_PORT}/tcp": port},
            )  # fmt: skip
            ports.append(first_port + i if first_port else _published_port(container))
        _wait_running(c, names)
    except BaseException:
        # A lab that did not come up whole leaves nothing behind (a port already taken
        # fails the second container after the first runs).
        for name in names:
            _remove(c, name)
        raise
    return DockerLab(tuple(names), tuple(ports))


def _published_port(container: Any) -> int:
    """The host port Docker bound the service's port to."""
    container.reload()
    return int(container.ports[f"{SERVICE_PORT}/tcp"][0]["HostPort"])


def _wait_running(c: Any, names: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for name in names:
        while c.containers.get(name).status != "running":
            if time.monotonic() > deadline:
                raise TargetEnvironmentError(f"container {name} did not start")
            time.sleep(0.1)


def _remove(c: Any, name: str) -> None:
    import docker

    with contextlib.suppress(docker.errors.NotFound):
        c.containers.get(name).remove(force=True)


def down(prefix: str = "drillctl-lab") -> int:
    """Remove the lab's containers; return how many were removed."""
    c = client()
    removed = 0
    for container in c.containers.list(all=True, filters={"label": LABEL}):
        if container.name.startswith(prefix):
            container.remove(force=True)
            removed += 1
    return removed
