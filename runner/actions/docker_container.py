"""`docker.container`: converge a container's state and image; a new image keeps its config.

The docker SDK is imported only when a step runs (see runner.connections.docker_targets).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.actions.base import (
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
    Undo,
)
from runner.connections.docker_clone import clone_config
from runner.connections.docker_targets import (
    ContainerTarget,
    EngineError,
    NoSuchObject,
    container_target,
    docker_client,
    engine_calls,
    resolve_container,
)
from runner.durations import DURATION_SCHEMA, parse_duration
from runner.inventory.model import Host

STATES = ("started", "stopped", "restarted", "paused", "absent")
_RUNNING = ("started", "restarted", "paused")


class DockerContainerAction(Action):
    name = "docker.container"
    controller_side = True
    reversible = True
    description = (
        "Converge an existing container to a state and/or an image. A new image recreates the "
        "container with the same configuration; the previous image id is recorded for rollback."
    )
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "anyOf": [{"required": ["state"]}, {"required": ["image"]}],
        "examples": [
            {"image": "registry.local/order-gateway:3.2.0"},
            {"image": "{{ deployed.previous_image_id }}"},
            {"name": "order-gateway", "state": "restarted"},
        ],
        "properties": {
            "name": {
                "type": "string",
                "description": "Container name or id. Default: the host's container (host var "
                "`container`, else `container_label`, else its address, else its name).",
            },
            "state": {
                "enum": list(STATES),
                "description": "Desired state. Omitted: a recreated container keeps its old "
                "state. `restarted` restarts every time; `absent` removes (volumes stay).",
            },
            "image": {
                "type": "string",
                "description": "Image reference or `sha256:` id already on the engine. When its "
                "id differs, the container is recreated with the new image and the same env, "
                "ports, mounts, labels, networks, command and restart policy.",
            },
            "stop_timeout": {
                **DURATION_SCHEMA,
                "default": "10s",
                "description": "Grace between SIGTERM and SIGKILL when stopping.",
            },
        },
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, Mapping):
            raise ActionArgError("docker.container takes a mapping (state, image, name)")
        state, image = args.get("state"), args.get("image")
        if state is None and not image:
            raise ActionArgError("docker.container needs `state`, `image` or both")
        if state is not None and state not in STATES:
            raise ActionArgError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        if state == "absent" and image:
            raise ActionArgError("`image` cannot be combined with state absent")
        try:
            grace = parse_duration(args.get("stop_timeout", 10))
        except ValueError as exc:
            raise ActionArgError(f"stop_timeout: {exc}") from None
        target = container_target(host, args.get("name"))
        wanted = ", ".join(x for x in (f"image {image}" if image else "", state or "") if x)
        params = {
            "engine": target.engine_url,
            "container": target.ref,
            "label": target.label,
            "state": state,
            "image": image or None,
            "grace": grace,
        }
        return PlannedAction(self.name, f"{target.describe()}: {wanted}", params=params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p = planned.params
        target = ContainerTarget(p["engine"], p["container"], p["label"])
        client = docker_client(target.engine_url)
        try:
            with engine_calls(target.engine_url):
                return _converge(client.api, resolve_container(client, target), target, p)
        except EngineError as exc:
            return ActionOutcome(False, f"{target.describe()} on {target.engine_url}: {exc}")


def _converge(api: Any, ref: str, target: ContainerTarget, p: Mapping[str, Any]) -> ActionOutcome:
    url, state, image, grace = target.engine_url, p["state"], p["image"], round(p["grace"])
    info = _lookup(url, api.inspect_container, ref)
    if info is None:
        if state == "absent":
            return ActionOutcome(True, f"{ref} is absent", data=_data(None, None, False))
        return ActionOutcome(
            False, f"no container {ref!r} on {url}: docker.container changes existing containers"
        )
    previous = info
    if state == "absent":
        api.remove_container(info["Id"], force=True)  # named and anonymous volumes stay
        return ActionOutcome(True, f"removed {_name(info)}", data=_data(previous, None, True))
    recreated = False
    desired = state or _status(info)
    if image:
        found = _lookup(url, api.inspect_image, image)
        if found is None:
            return ActionOutcome(
                False,
                f"image {image!r} is not on the engine at {url}: build, load or pull it first",
            )
        if found["Id"] != info["Image"]:
            old_image = _lookup(url, api.inspect_image, info["Image"]) or {}
            config, networks = clone_config(info, old_image.get("Config") or {}, image)
            new_id = _recreate(api, info, config, networks, start=desired in _RUNNING, grace=grace)
            info, recreated = api.inspect_container(new_id), True
    changed = _set_state(api, info, desired, grace, fresh=recreated) or recreated
    final = api.inspect_container(info["Id"])
    verb = f"recreated with {image}" if recreated else "changed" if changed else "unchanged"
    undo = None
    if recreated:  # an image swap: recreate again from the exact previous image id
        args = {"name": _name(final), "image": previous["Image"]}
        undo = Undo("docker.container", args, f"{_name(final)} back to {previous['Image']}")
    data = _data(previous, final, changed, recreated)
    # The engine accepting a start is not the container running: one whose process exits
    # at once (a broken image) is `stopped` by now, and that is a failed step.
    wanted = "started" if desired == "restarted" else desired
    if _status(final) != wanted:
        state = final["State"]
        why = f"exit code {state.get('ExitCode')}" + (
            f", {state['Error']}" if state.get("Error") else ""
        )
        msg = f"{_name(final)} {verb}, but it is {_status(final)}, not {wanted} ({why})"
        return ActionOutcome(False, msg, data=data, undo=undo)
    return ActionOutcome(True, f"{_name(final)} {verb}; {_status(final)}", data=data, undo=undo)


def _lookup(url: str, inspect: Any, ref: str) -> dict[str, Any] | None:
    """`inspect(ref)`, or None when the engine has no such object."""
    try:
        with engine_calls(url):
            found: dict[str, Any] = inspect(ref)
            return found
    except NoSuchObject:
        return None


def _status(info: Mapping[str, Any]) -> str:
    state = info["State"]
    if state.get("Paused"):
        return "paused"
    return "started" if state.get("Running") or state.get("Restarting") else "stopped"


def _name(info: Mapping[str, Any]) -> str:
    return str(info["Name"]).lstrip("/")


def _set_state(api: Any, info: Mapping[str, Any], desired: str, grace: int, fresh: bool) -> bool:
    """Move the container to `desired`; True when anything changed."""
    cid, now = info["Id"], _status(info)
    if desired == "stopped":
        if now == "stopped":
            return False
        api.stop(cid, timeout=grace)
        return True
    if desired == "restarted" and not fresh:  # a freshly recreated container just started
        if now == "paused":
            api.unpause(cid)
        api.restart(cid, timeout=grace)
        return True
    changed = False
    if now == "stopped":
        api.start(cid)
        now, changed = "started", True
    if desired == "paused" and now != "paused":
        api.pause(cid)
        changed = True
    elif desired in ("started", "restarted") and now == "paused":
        api.unpause(cid)
        changed = True
    return changed


def _recreate(
    api: Any,
    old: Mapping[str, Any],
    config: Mapping[str, Any],
    networks: Mapping[str, Mapping[str, Any]],
    *,
    start: bool,
    grace: int,
) -> str:
    """Replace `old` by a container made from `config`; return the new container's id.

    The old container is only renamed aside while the new one is created, so a configuration
    the engine rejects leaves it untouched; if the new one fails to start, the old one gets
    its name back and is started again.
    """
    name, old_id, was = _name(old), old["Id"], _status(old)
    api.rename(old_id, f"{name}-drillctl-old-{old_id[:12]}")
    new_id: str | None = None
    try:
        new_id = str(api.create_container_from_config(config, name)["Id"])
        for network, endpoint in networks.items():
            api.connect_container_to_network(new_id, network, **endpoint)
        if was != "stopped":
            api.stop(old_id, timeout=grace)  # frees its published ports
        if start:
            api.start(new_id)
    except BaseException:  # put the old container back, whatever went wrong
        if new_id is not None:
            api.remove_container(new_id, force=True)
        api.rename(old_id, name)
        if was != "stopped":
            api.start(old_id)
            if was == "paused":
                api.pause(old_id)
        raise
    api.remove_container(old_id, force=True)  # its volumes stay: the new container uses them
    return new_id


def _data(
    previous: Mapping[str, Any] | None,
    final: Mapping[str, Any] | None,
    changed: bool,
    recreated: bool = False,
) -> dict[str, Any]:
    """What `register:` keeps: enough to restore exactly the previous image."""
    last = final or previous
    return {
        "changed": changed,
        "recreated": recreated,
        "state": _status(final) if final else "absent",
        "container": _name(last) if last else None,
        "container_id": final["Id"] if final else None,
        "previous_image": previous["Config"]["Image"] if previous else None,
        "previous_image_id": previous["Image"] if previous else None,
        "image": final["Config"]["Image"] if final else None,
        "image_id": final["Image"] if final else None,
    }
