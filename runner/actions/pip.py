"""`pip`: pin one Python distribution in a virtualenv on the target, recording the old version.

Dependencies are NOT installed by default (`--no-deps`): a dependency rollback must change
exactly one distribution, or the undo (which pins only that one back) would leave the
dependencies pip upgraded along the way. Set `deps: true` to let pip resolve them, knowing
that the undo restores only `name`. Wheels can come from a local directory (`find_links`,
`no_index`) so drills run on hosts without internet access.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from runner.actions.base import (
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
    Undo,
    outcome_from_command,
)
from runner.actions.release import markers
from runner.connections.base import CommandSpec
from runner.inventory.model import Host

# Prints the installed version of argv[1] ("" when absent) as a drillctl marker line.
_VERSION = """\
import sys
from importlib import metadata
try:
    found = metadata.version(sys.argv[2])
except metadata.PackageNotFoundError:
    found = ""
print("drillctl.%s=%s" % (sys.argv[1], found))
"""


def same_version(installed: str | None, wanted: str | None) -> bool:
    """Whether the installed version is the pinned one (`2.0` pins `2`, `2.0.0`; PEP 440)."""
    if installed is None or wanted is None:
        return installed is wanted

    def norm(v: str) -> str:
        return re.sub(r"(\.0+)+$", "", v.strip().lower().removeprefix("v"))

    return norm(installed) == norm(wanted)


_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_INSTALL_KEYS = ("find_links", "index_url", "no_index", "deps")


def pin_script(p: Mapping[str, Any]) -> str:
    """POSIX sh: print the installed version, install/uninstall if it differs, print it again."""
    q = shlex.quote
    py = posixpath.join(p["venv"], "bin", "python")
    show = f'"$py" -c {q(_VERSION)}'
    if p["version"] is None:
        wanted = '[ -z "$before" ]'
        change = f'"$py" -m pip uninstall --disable-pip-version-check -y {q(p["name"])}'
    else:
        wanted = f'[ "$before" = {q(p["version"])} ]'
        options = ["--disable-pip-version-check", "--no-input"]
        options += [] if p["deps"] else ["--no-deps"]
        options += ["--no-index"] if p["no_index"] else []
        options += ["--index-url", p["index_url"]] if p["index_url"] else []
        for link in p["find_links"]:
            options += ["--find-links", link]
        spec = f"{p['name']}=={p['version']}"
        change = f'"$py" -m pip install {shlex.join(options)} {q(spec)}'
    return f"""set -u
py={q(py)}
if [ ! -x "$py" ]; then echo "no virtualenv at {p["venv"]}: $py is missing" >&2; exit 3; fi
before=$({show} before {q(p["name"])}) || exit $?
echo "$before"; before=${{before#drillctl.before=}}
if {wanted}; then echo "drillctl.changed=0"; exit 0; fi
{change}; rc=$?
{show} after {q(p["name"])}
exit $rc
"""


class PipAction(Action):
    name = "pip"
    reversible = True
    description = (
        "Install one pinned version of a Python distribution in a virtualenv on the target "
        "(or remove it); the version it replaces is recorded so `rollback: auto` pins it back."
    )
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["venv", "name"],
        "oneOf": [{"required": ["version"]}, {"required": ["state"]}],
        "examples": [
            {"venv": "/opt/app/venv", "name": "requests", "version": "2.31.0"},
            {
                "venv": "/opt/app/venv",
                "name": "order-core",
                "version": "{{ bad }}",
                "find_links": "/srv/wheels",
                "no_index": True,
            },
        ],
        "properties": {
            "venv": {"type": "string", "description": "Absolute path of the virtualenv."},
            "name": {"type": "string", "description": "Distribution name.", "examples": ["rich"]},
            "version": {
                "type": ["string", "number"],
                "description": "Exact version to install (`name==version`).",
            },
            "state": {"enum": ["absent"], "description": "`absent` uninstalls `name`."},
            "find_links": {
                "description": "Directories or URLs with wheels (pip --find-links).",
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            },
            "index_url": {"type": "string", "description": "Package index (pip --index-url)."},
            "no_index": {
                "type": "boolean",
                "default": False,
                "description": "Use only `find_links`, never an index (pip --no-index).",
            },
            "deps": {
                "type": "boolean",
                "default": False,
                "description": "Also install dependencies. Off by default: the undo restores "
                "only `name`, so a rollback would leave upgraded dependencies behind.",
            },
        },
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, Mapping):
            raise ActionArgError("pip takes a mapping (venv, name, version)")
        venv, name = str(args.get("venv") or ""), str(args.get("name") or "")
        if not posixpath.isabs(venv) or "\n" in venv:
            raise ActionArgError(f"venv must be an absolute path, got {venv!r}")
        if not _NAME.match(name):
            raise ActionArgError(f"name must be a distribution name, got {name!r}")
        if ("version" in args) == (args.get("state") == "absent"):
            raise ActionArgError("pip needs either `version` or `state: absent`")
        links = args.get("find_links") or []
        params = {
            "venv": venv,
            "name": name,
            "version": str(args["version"]) if "version" in args else None,
            "find_links": [str(x) for x in ([links] if isinstance(links, str) else links)],
            "index_url": args.get("index_url"),
            "no_index": bool(args.get("no_index", False)),
            "deps": bool(args.get("deps", False)),
        }
        wanted = f"=={params['version']}" if params["version"] else " absent"
        spec = CommandSpec(shell=pin_script(params))
        return PlannedAction(self.name, f"{venv}: {name}{wanted}", spec, params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p = planned.params
        if planned.spec is None:
            raise RuntimeError("pip: planned without a command")
        result = self.connection(ctx).run(planned.spec, timeout=ctx.timeout, cancel=ctx.cancel)
        found = markers(result.stdout)
        before = found.get("before") or None
        after = found.get("after", found.get("before")) or None
        data = {"changed": before != after, "previous": before, "version": after}
        # Once the script got past reading `before`, pip may have changed the venv: keep the
        # way back when it did, or when what it left could not be read back.
        attempted = "before" in found and found.get("changed") != "0"
        unknown = "after" not in found
        undo = self._undo(p, before) if attempted and (unknown or before != after) else None
        if result.rc != 0 or result.timed_out or result.cancelled or "before" not in found:
            lines = result.stderr.strip().splitlines()
            out = outcome_from_command(result, ok=False, msg=lines[-1] if lines else "")
            return replace(out, data=data, undo=undo)
        if found.get("changed") == "0":
            return ActionOutcome(True, f"{p['name']} {before or 'absent'}: unchanged", data=data)
        if "after" not in found:
            why = "pip finished, but the installed version could not be read back"
            return ActionOutcome(False, why, stdout=result.stdout, data=data, undo=undo)
        if not same_version(after, p["version"]):
            why = f"pip finished, but {p['name']} is {after or 'absent'}"
            return ActionOutcome(False, why, stdout=result.stdout, data=data, undo=undo)
        msg = f"{p['name']} {before or 'absent'} -> {after or 'absent'}"
        return ActionOutcome(True, msg, stdout=result.stdout, data=data, undo=undo)

    def _undo(self, p: Mapping[str, Any], before: str | None) -> Undo:
        args: dict[str, Any] = {"venv": p["venv"], "name": p["name"]}
        if before is None:
            args["state"] = "absent"
        else:
            args["version"] = before
            args.update({k: p[k] for k in _INSTALL_KEYS if p[k]})
        return Undo(self.name, args, f"{p['name']} back to {before or 'absent'}")
