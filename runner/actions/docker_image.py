"""`docker.image`: build an image from a context directory, tag one, or look one up.

The docker SDK is imported only when a step runs (see runner.connections.docker_targets).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.actions.base import Action, ActionArgError, ActionContext, ActionOutcome, PlannedAction
from runner.connections.docker_targets import (
    EngineError,
    NoSuchObject,
    docker_client,
    engine_calls,
    engine_url,
)
from runner.inventory.model import Host
from runner.secrets import cut_tail

LOG_KEEP = 64 * 1024  # build output kept in the outcome (the tail, where errors are)


class DockerImageAction(Action):
    name = "docker.image"
    controller_side = True
    description = (
        "Build an image from a context directory (`build`), tag an existing image (`source`), "
        "or only look it up; records the image id `name` had before and has now."
    )
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["name"],
        "examples": [
            {"name": "order-gateway:3.2.0", "build": "/srv/src/order-gateway"},
            {"name": "order-gateway:current", "source": "order-gateway:3.2.0"},
            {"name": "order-gateway:3.1.2"},
        ],
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "description": "The image reference (`repo:tag`) this step builds, tags or "
                "looks up. Looked up only: fails when absent unless `missing_ok`.",
            },
            "build": {
                "type": "string",
                "description": "Context directory on the controller; the image is built from "
                "it and tagged `name`.",
            },
            "dockerfile": {
                "type": "string",
                "description": "Dockerfile path inside the context (default `Dockerfile`).",
            },
            "build_args": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean"]},
                "description": "Values for the Dockerfile's ARG instructions.",
            },
            "source": {
                "type": "string",
                "description": "An image already on the engine (reference or `sha256:` id) "
                "to tag as `name`.",
            },
            "missing_ok": {
                "type": "boolean",
                "default": False,
                "description": "Look-up only: an absent image is not a failure "
                "(the result says `exists: false`).",
            },
        },
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, Mapping) or not args.get("name"):
            raise ActionArgError("docker.image needs `name` (the image reference)")
        if args.get("build") and args.get("source"):
            raise ActionArgError("give `build` or `source`, not both")
        if not args.get("build") and (args.get("dockerfile") or args.get("build_args")):
            raise ActionArgError("`dockerfile` and `build_args` need `build`")
        name, build, source = str(args["name"]), args.get("build"), args.get("source")
        params = {
            "engine": engine_url(host),
            "name": name,
            "build": os.path.abspath(str(build)) if build else None,
            "dockerfile": args.get("dockerfile"),
            "build_args": {str(k): str(v) for k, v in (args.get("build_args") or {}).items()},
            "source": str(source) if source else None,
            "missing_ok": bool(args.get("missing_ok", False)),
        }
        if params["build"]:
            summary = f"build {name} from {params['build']}"
        else:
            summary = f"tag {source} as {name}" if source else f"look up image {name}"
        return PlannedAction(self.name, summary, params=params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p = planned.params
        url, name = p["engine"], p["name"]
        api = docker_client(url).api
        source_id = None
        try:
            before = _image_id(api, url, name)
            if p["source"]:
                source_id = _image_id(api, url, p["source"])
                if source_id is None:
                    return ActionOutcome(
                        False, f"image {p['source']!r} is not on the engine at {url}"
                    )
            with engine_calls(url):
                if p["build"]:
                    ok, log = _build(api, p)
                    if not ok:
                        return ActionOutcome(False, f"build of {name} failed", stdout=log)
                elif p["source"]:
                    _tag(api, p["source"], name)
            after = _image_id(api, url, name)
        except NoSuchObject as exc:
            return ActionOutcome(False, f"{planned.summary}: {exc}")
        except EngineError as exc:
            return ActionOutcome(False, f"{planned.summary} on {url}: {exc}")
        if (p["build"] or p["source"]) and after is None:
            return ActionOutcome(
                False, f"{planned.summary}: {name!r} is not on the engine after it"
            )
        if source_id is not None and after != source_id:
            # The tag call returned, but `name` still names another image.
            return ActionOutcome(False, f"{planned.summary}: {name} is {after}, not {source_id}")
        if after is None and not p["missing_ok"]:
            return ActionOutcome(False, f"image {name!r} is not on the engine at {url}")
        data = {
            "image": name,
            "image_id": after,
            "previous_image_id": before,
            "exists": after is not None,
            "changed": after != before,
        }
        return ActionOutcome(True, f"{name}: {after or 'absent'}", data=data)


def _image_id(api: Any, url: str, name: str) -> str | None:
    try:
        with engine_calls(url):
            return str(api.inspect_image(name)["Id"])
    except NoSuchObject:
        return None


def _build(api: Any, p: Mapping[str, Any]) -> tuple[bool, str]:
    """Build from the context directory; success and the build log."""
    log: list[str] = []
    ok = True
    for chunk in api.build(
        path=p["build"],
        tag=p["name"],
        dockerfile=p["dockerfile"],
        buildargs=p["build_args"] or None,
        forcerm=True,  # no intermediate containers left behind, even when it fails
        decode=True,
    ):
        if "error" in chunk:
            ok = False
            log.append(str(chunk["error"]).rstrip("\n") + "\n")
        elif "stream" in chunk:
            log.append(str(chunk["stream"]))
    return ok, cut_tail("".join(log), LOG_KEEP)


def _tag(api: Any, source: str, name: str) -> None:
    from docker.utils import parse_repository_tag

    repository, tag = parse_repository_tag(name)
    if not api.tag(source, repository, tag or "latest"):
        raise EngineError(f"the engine refused to tag {source} as {name}")
