"""`release`: switch an application's `current` symlink to another release, Capistrano style.

The switch is atomic: a new link is made under a temporary name and renamed over `current`
(`mv -T`), so readers always find either the old release or the new one, never no link.
The previous link target is recorded; the undo switches back to it.
"""

from __future__ import annotations

import posixpath
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
from runner.connections.base import CommandSpec
from runner.inventory.model import Host

MARK = "drillctl."

# Exit codes of the switch script that mean "bad arguments for this host", with their text
# printed on stderr by the script itself.
_NO_RELEASE, _NOT_A_LINK = 3, 4


def switch_script(link: str, target: str) -> str:
    """POSIX sh that points `link` at `target` atomically and prints what it pointed at."""
    q = shlex.quote
    return f"""set -eu
link={q(link)}
target={q(target)}
if [ ! -d "$target" ]; then
  echo "release directory $target does not exist on this host" >&2; exit {_NO_RELEASE}
fi
if [ -e "$link" ] && [ ! -L "$link" ]; then
  echo "$link exists and is not a symlink: refusing to replace it" >&2; exit {_NOT_A_LINK}
fi
previous=$(readlink "$link" 2>/dev/null || true)
echo "{MARK}previous=$previous"
if [ "$previous" = "$target" ]; then echo "{MARK}changed=0"; exit 0; fi
tmp="$(dirname "$link")/.$(basename "$link").drillctl-$$"  # hidden: globs skip it
ln -sfn "$target" "$tmp"
mv -fT "$tmp" "$link" || {{ rm -f "$tmp"; exit 1; }}
echo "{MARK}changed=1"
"""


def markers(stdout: str) -> dict[str, str]:
    """The `drillctl.key=value` lines a script printed."""
    found: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith(MARK):
            key, _, value = line[len(MARK) :].partition("=")
            found[key] = value
    return found


def _no_newline(name: str, value: str) -> str:
    if "\n" in value or "\0" in value:
        raise ActionArgError(f"{name} must not contain a newline or NUL byte")
    return value


class ReleaseAction(Action):
    name = "release"
    reversible = True
    description = (
        "Point an application's `current` symlink at another release directory atomically "
        "and restart it; the previous release is recorded so `rollback: auto` can switch back."
    )
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["path"],
        "oneOf": [{"required": ["to"]}, {"required": ["version"]}],
        "examples": [
            {"path": "/opt/app", "version": "{{ bad }}", "restart": "systemctl restart app"},
            {"path": "/opt/app", "to": "releases/3.1.2"},
        ],
        "properties": {
            "path": {
                "type": "string",
                "description": "Absolute application directory holding `releases/` and `current`.",
                "examples": ["/opt/app"],
            },
            "to": {
                "type": "string",
                "description": "Release directory to switch to; relative paths are relative to "
                "`path`. It must exist on the host. The link is written with the absolute path.",
                "examples": ["releases/3.2.0", "/opt/app/releases/20261001T120000"],
            },
            "version": {
                "type": ["string", "number"],
                "description": "Shorthand for `to: releases/<version>`.",
                "examples": ["3.2.0"],
            },
            "current": {
                "type": "string",
                "default": "current",
                "description": "The symlink to switch; relative paths are relative to `path`.",
            },
            "restart": {
                "type": "string",
                "description": "Shell command run in `path` after the switch (only when the "
                "link changed). The undo runs it again after switching back.",
                "examples": ["systemctl restart order-gateway"],
            },
        },
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, Mapping):
            raise ActionArgError("release takes a mapping (path, to or version, restart)")
        path = _no_newline("path", str(args.get("path") or ""))
        if not posixpath.isabs(path):
            raise ActionArgError(f"path must be an absolute directory, got {path!r}")
        if ("to" in args) == ("version" in args):
            raise ActionArgError("release needs exactly one of `to` or `version`")
        to = str(args["to"]) if "to" in args else f"releases/{args['version']}"
        target = posixpath.normpath(posixpath.join(path, _no_newline("to", to)))
        current = _no_newline("current", str(args.get("current") or "current"))
        link = posixpath.normpath(posixpath.join(path, current))
        restart = args.get("restart")
        params = {
            "path": path,
            "current": current,
            "link": link,
            "target": target,
            "restart": str(restart) if restart else None,
        }
        summary = f"{link} -> {target}" + (f"; then {restart}" if restart else "")
        return PlannedAction(
            self.name, summary, CommandSpec(shell=switch_script(link, target)), params
        )

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p, conn = planned.params, self.connection(ctx)
        if planned.spec is None:
            raise RuntimeError("release: planned without a command")
        result = conn.run(planned.spec, timeout=ctx.timeout, cancel=ctx.cancel)
        found = markers(result.stdout)
        if result.rc != 0 or result.timed_out or result.cancelled or "changed" not in found:
            problem = result.stderr.strip().splitlines()
            return outcome_from_command(result, ok=False, msg=problem[-1] if problem else "")
        previous = found.get("previous") or None
        data = {
            "changed": found["changed"] == "1",
            "link": p["link"],
            "current": p["target"],
            # A relative old link is resolved the way the kernel resolves it: from its directory.
            "previous": (
                posixpath.normpath(posixpath.join(posixpath.dirname(p["link"]), previous))
                if previous
                else None
            ),
        }
        if not data["changed"]:
            return ActionOutcome(True, f"{p['link']} already points at {p['target']}", data=data)
        undo = self._undo(p, data["previous"])
        msg = f"{p['link']} -> {p['target']} (was {data['previous'] or 'absent'})"
        if p["restart"]:
            restarted = conn.run(
                CommandSpec(shell=p["restart"], cwd=p["path"]),
                timeout=ctx.timeout,
                cancel=ctx.cancel,
            )
            out = outcome_from_command(restarted)
            if not out.ok:
                # The link did change: keep the undo so a rollback can still switch back.
                why = f"switched {msg}, but restart failed: {out.msg}"
                return replace(out, msg=why, data=data, undo=undo)
            msg += "; restarted"
        return ActionOutcome(True, msg, stdout=result.stdout, data=data, undo=undo)

    def _undo(self, p: Mapping[str, Any], previous: str | None) -> Undo | None:
        if previous is None:
            return None  # a first deploy: there is no earlier release to go back to
        args: dict[str, Any] = {"path": p["path"], "to": previous, "current": p["current"]}
        if p["restart"]:
            args["restart"] = p["restart"]
        return Undo(self.name, args, f"switch {p['link']} back to {previous}")
