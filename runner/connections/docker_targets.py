"""Which Docker engine and container a host means, one shared client per engine, errors mapped.

The docker SDK is imported only where a call is made: it costs ~130 ms to import, and every
drillctl start loads the action table that refers to this module.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from runner.connections.base import HostUnreachable, local_limit
from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host
from runner.secrets import SecretMask
from runner.urls import without_credentials

DEFAULT_ENGINE = "unix:///var/run/docker.sock"
# Many hosts share one engine and each exec holds a connection while it runs; the SDK's
# default pool of 10 would make wide fan-outs open and throw away connections.
MAX_POOL_SIZE = 64
# Every engine call (connect and each read) must be answered within this; an engine that
# accepts connections but never answers is then unreachable instead of a hang. A command's
# own output is exempt: the command's timeout bounds it (runner/connections/docker.py).
API_TIMEOUT_S = 10.0

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


class EngineError(Exception):
    """The engine refused a call; `status` is the HTTP status it answered with."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NoSuchObject(EngineError):
    """The container, image or path named in the call does not exist (404)."""


@dataclass(frozen=True)
class ContainerTarget:
    """A container as the inventory names it: by name or id, else by a label selector."""

    engine_url: str
    ref: str | None
    label: str | None = None

    def describe(self) -> str:
        if self.ref is not None:
            return f"container {self.ref!r}"
        return f"the container labelled {self.label!r}"


def engine_url(host: Host) -> str:
    """Host var `docker_host`, else `DOCKER_HOST`, else the local socket."""
    return str(host.vars.get("docker_host") or os.environ.get("DOCKER_HOST") or DEFAULT_ENGINE)


def container_target(host: Host, name: str | None = None) -> ContainerTarget:
    """Pure: `name`, else host var `container`, else `container_label`, else address/name."""
    url = engine_url(host)
    if name:
        return ContainerTarget(url, name)
    if host.vars.get("container"):
        return ContainerTarget(url, str(host.vars["container"]))
    if host.vars.get("container_label"):
        return ContainerTarget(url, None, str(host.vars["container_label"]))
    return ContainerTarget(url, host.address or host.name)


def docker_client(url: str) -> Any:
    """The shared `docker.DockerClient` for an engine; TargetEnvironmentError if it is down."""
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            import docker

            # TLS settings come from DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, as for the docker CLI.
            kwargs = docker.utils.kwargs_from_env()
            kwargs["base_url"] = url
            try:
                client = docker.DockerClient(
                    max_pool_size=MAX_POOL_SIZE, timeout=API_TIMEOUT_S, **kwargs
                )
            except docker.errors.DockerException as exc:
                raise engine_unreachable(url, exc) from None
            _clients[url] = client
        return client


def forget_client(url: str) -> None:
    """Drop a cached client, so the next call reconnects (after the engine went away)."""
    with _clients_lock:
        client = _clients.pop(url, None)
    if client is not None:
        client.close()


def engine_unreachable(url: str, exc: BaseException) -> TargetEnvironmentError:
    # The engine's URL may carry `user:password@`, and the client's error may quote it.
    where = without_credentials(url)
    reason = SecretMask().mask(_reason(exc))
    return TargetEnvironmentError(
        f"docker engine at {where} is not reachable: {reason}; start dockerd or set DOCKER_HOST"
    )


def host_unreachable(message: str) -> Exception:
    """A HostUnreachable; imported late because the connection pool imports this package."""

    return HostUnreachable(message)


@contextmanager
def engine_calls(url: str) -> Iterator[None]:
    """Turn SDK exceptions into EngineError / NoSuchObject / TargetEnvironmentError."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.NotFound as exc:
        raise NoSuchObject(_explain(exc), 404) from None
    except docker.errors.APIError as exc:
        raise EngineError(_explain(exc), exc.status_code) from None
    except (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        docker.errors.DockerException,
        TimeoutError,
    ) as exc:
        forget_client(url)
        raise engine_unreachable(url, exc) from None


def resolve_container(client: Any, target: ContainerTarget) -> str:
    """The container's name or id; a label selector must match exactly one running container."""
    if target.ref is not None:
        return target.ref
    with engine_calls(target.engine_url):
        found = client.api.containers(filters={"label": target.label, "status": "running"})
    if len(found) != 1:
        names = ", ".join(sorted(n.lstrip("/") for c in found for n in c["Names"][:1]))
        raise host_unreachable(
            f"label {target.label!r} must match exactly one running container on "
            f"{target.engine_url}, it matches {len(found)}" + (f": {names}" if names else "")
        )
    return str(found[0]["Id"])


def _explain(exc: Any) -> str:
    return str(getattr(exc, "explanation", None) or exc)


def _reason(exc: BaseException) -> str:
    """The innermost OS-level reason ('Connection refused'), else the exception's text."""
    if _timed_out(exc):
        return f"no answer within {API_TIMEOUT_S:g}s"
    todo: list[object] = [exc]
    seen: set[int] = set()
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, OSError) and local_limit(item):
            return local_limit(item)  # the controller's limit, not the engine's state
        if isinstance(item, OSError) and item.strerror:
            return item.strerror
        todo.extend([item.__cause__, item.__context__, *item.args])
    return str(exc)


def _timed_out(exc: BaseException) -> bool:
    """A read or connect that timed out, anywhere in the exception's chain."""
    import requests.exceptions

    seen: set[int] = set()
    item: BaseException | None = exc
    while item is not None and id(item) not in seen:
        seen.add(id(item))
        if isinstance(item, (TimeoutError, requests.exceptions.Timeout)):
            return True
        if "timed out" in str(item).lower():
            return True
        item = item.__cause__ or item.__context__
    return False
