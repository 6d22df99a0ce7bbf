"""Docker test lab: an engine (started if needed), two busybox images, throwaway containers.

No registry is reachable, so images are built FROM scratch with the static busybox from
Debian's busybox-static. Containers publish ports on 127.0.0.1 only and carry the label
`drillctl-test=1`; each test's containers also carry an owner label, and teardown removes
every container with it, including ones an action recreated or renamed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests.exceptions

LABEL = "drillctl-test"
OWNER_LABEL = "drillctl-test.owner"
RECIPE_LABEL = "drillctl-test.recipe"
IMAGE_REPO = "drillctl-test/busybox"
BUSYBOX = Path("/bin/busybox")
ENGINE_WAIT_S = 60.0
LOCAL_SOCKET = "unix:///var/run/docker.sock"

_V1_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p -m 1777 /tmp"]
COPY passwd group /etc/
ENV APP_VERSION=1
VOLUME /state
LABEL {recipe}={digest} drillctl-test.version=1
CMD ["/bin/sh"]
"""
_V2_DOCKERFILE = """\
FROM {base}
RUN ["/bin/sh", "-c", "echo 2 > /VERSION"]
ENV APP_VERSION=2
LABEL {recipe}={digest} drillctl-test.version=2
"""
_PASSWD = "root:x:0:0:root:/root:/bin/sh\ndrill:x:1000:1000:drill:/tmp:/bin/sh\n"
_GROUP = "root:x:0:\ndrill:x:1000:\n"


@dataclass(frozen=True)
class BusyboxImages:
    """Two tags of one busybox image that differ (a /VERSION file, APP_VERSION in env)."""

    v1: str
    v2: str
    v1_id: str
    v2_id: str


def _connect() -> tuple[docker.DockerClient | None, str]:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
        return client, ""
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        return None, str(exc)


def _start_dockerd(log: Path) -> tuple[subprocess.Popen[bytes] | None, str]:
    """Start dockerd in the background (root only); the process, or why not."""
    if os.environ.get("DOCKER_HOST", LOCAL_SOCKET) != LOCAL_SOCKET:
        return None, f"DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer"
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        return None, "dockerd is not installed (Debian: apt-get install docker.io)"
    if os.geteuid() != 0:
        return None, "the engine is down and starting dockerd needs root"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [dockerd], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return proc, ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_for_engine(
    proc: subprocess.Popen[bytes], log: Path
) -> tuple[docker.DockerClient | None, str]:
    """Poll the socket until the engine answers; stop dockerd again if it never does."""
    deadline = time.monotonic() + ENGINE_WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            return None, f"dockerd exited with {proc.returncode}: {tail}"
        client, _ = _connect()
        if client is not None:
            return client, ""
        time.sleep(0.5)
    _stop(proc)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    return None, f"dockerd did not answer within {ENGINE_WAIT_S:.0f}s: {tail}"


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.DockerClient]:
    """A client of a running engine; starts dockerd if none answers (skip, or fail on CI)."""
    client, reason = _connect()
    started: subprocess.Popen[bytes] | None = None
    log_dir: Path | None = None
    if client is None:
        log_dir = Path(tempfile.mkdtemp(prefix="drillctl-dockerd-"))
        started, reason = _start_dockerd(log_dir / "dockerd.log")
        if started is not None:
            client, reason = _wait_for_engine(started, log_dir / "dockerd.log")
    try:
        if client is None:
            message = f"no Docker engine for the docker tests: {reason}"  # the log's tail
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        yield client
        client.close()
    finally:
        if started is not None:  # leave the machine as we found it
            _stop(started)
        if log_dir is not None:
            shutil.rmtree(log_dir, ignore_errors=True)


def _context(files: Mapping[str, bytes | Path]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in files.items():
            if isinstance(content, Path):
                tar.add(str(content), arcname=name)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    buf.seek(0)
    return buf


def _image(client: docker.DockerClient, ref: str, digest: str, files: Mapping[str, Any]) -> str:
    """Id of `ref`, built from `files` unless it exists with the same recipe digest."""
    try:
        image = client.images.get(ref)
        if (image.labels or {}).get(RECIPE_LABEL) == digest:
            return str(image.id)
    except docker.errors.ImageNotFound:
        pass
    image, _ = client.images.build(fileobj=_context(files), custom_context=True, tag=ref, rm=True)
    return str(image.id)


@pytest.fixture(scope="session")
def busybox_image(docker_engine: docker.DockerClient) -> BusyboxImages:
    """`drillctl-test/busybox:1` and `:2` (distinct image ids), built once and reused."""
    if not BUSYBOX.exists():
        pytest.skip(f"{BUSYBOX} is missing (Debian: apt-get install busybox-static)")
    v1, v2 = f"{IMAGE_REPO}:1", f"{IMAGE_REPO}:2"
    digest = hashlib.sha256(_V1_DOCKERFILE.encode() + BUSYBOX.read_bytes()).hexdigest()[:16]
    dockerfile = _V1_DOCKERFILE.format(recipe=RECIPE_LABEL, digest=digest)
    v1_files = {
        "Dockerfile": dockerfile.encode(),
        "busybox": BUSYBOX,
        "passwd": _PASSWD.encode(),
        "group": _GROUP.encode(),
    }
    v1_id = _image(docker_engine, v1, digest, v1_files)
    # v2 is rebuilt whenever v1 changed: its recipe digest includes v1's image id.
    digest2 = hashlib.sha256((_V2_DOCKERFILE + v1_id).encode()).hexdigest()[:16]
    dockerfile2 = _V2_DOCKERFILE.format(base=v1, recipe=RECIPE_LABEL, digest=digest2)
    v2_id = _image(docker_engine, v2, digest2, {"Dockerfile": dockerfile2.encode()})
    assert v1_id != v2_id
    return BusyboxImages(v1, v2, v1_id, v2_id)


class ContainerFactory:
    """Runs labelled test containers (ports on 127.0.0.1 only) and removes them afterwards."""

    def __init__(self, client: docker.DockerClient, images: BusyboxImages) -> None:
        self.client = client
        self.images = images
        self.owner = uuid.uuid4().hex[:12]
        self.volumes: list[str] = []
        self.networks: list[str] = []

    def __call__(
        self,
        *,
        image: str | None = None,
        command: Sequence[str] = ("tail", "-f", "/dev/null"),
        ports: Sequence[str] = (),
        labels: Mapping[str, str] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """A running container; docker-init as PID 1 reaps what the tests kill."""
        kwargs.setdefault("init", True)
        container = self.client.containers.run(
            image or self.images.v1,
            list(command),
            detach=True,
            name=name or f"drillctl-test-{uuid.uuid4().hex[:10]}",
            labels={**(labels or {}), LABEL: "1", OWNER_LABEL: self.owner},
            ports={port: ("127.0.0.1", None) for port in ports},
            **kwargs,
        )
        container.reload()
        # Its anonymous volumes outlive it when an action removes it: track them from birth.
        self.volumes.extend(m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume")
        return container

    def volume(self) -> str:
        """A named volume, removed at teardown."""
        name = f"drillctl-test-{uuid.uuid4().hex[:10]}"
        self.client.volumes.create(name, labels={LABEL: "1", OWNER_LABEL: self.owner})
        self.volumes.append(name)
        return name

    def network(self, *, internal: bool = True) -> str:
        """A user network, internal (no way out) unless ports must be published on it."""
        name = f"drillctl-test-{uuid.uuid4().hex[:10]}"
        labels = {LABEL: "1", OWNER_LABEL: self.owner}
        self.client.networks.create(name, internal=internal, labels=labels)
        self.networks.append(name)
        return name

    def remove_all(self) -> None:
        owned = self.client.containers.list(
            all=True, filters={"label": f"{OWNER_LABEL}={self.owner}"}
        )
        # A swapped container mounts its predecessor's anonymous volumes by name, and
        # `remove(v=True)` keeps named ones: remove every volume the containers used.
        used = [m["Name"] for c in owned for m in c.attrs["Mounts"] if m["Type"] == "volume"]
        for container in owned:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
        self.volumes.extend(v for v in used if v not in self.volumes)
        for name in self.networks:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.networks.get(name).remove()
        for name in self.volumes:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.api.remove_volume(name, force=True)


@pytest.fixture
def make_container(
    docker_engine: docker.DockerClient, busybox_image: BusyboxImages
) -> Iterator[ContainerFactory]:
    """Factory for test containers; every container it (or an action) made is removed."""
    factory = ContainerFactory(docker_engine, busybox_image)
    yield factory
    factory.remove_all()
