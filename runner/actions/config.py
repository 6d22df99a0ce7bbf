"""`config`: replace a configuration file atomically, validated first, with a snapshot to undo.

New content goes to a temporary file beside `dest` (same file system, so the final `mv` is
an atomic rename), is validated there, and only then replaces `dest`. The old file is first
copied byte for byte, with its mode and owner, to `dest.drillctl-<UTC stamp>.bak`; the undo
restores that snapshot through this same action (with the same restart), or removes `dest`
when there was none.
"""

from __future__ import annotations

import base64
import os
import posixpath
import re
import shlex
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
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
from runner.connections.base import CommandSpec, Connection
from runner.inventory.model import Host
from runner.playbook.templating import TemplateError

# Above this size the content travels with the connection's `put` (sftp, docker archive,
# copy) instead of base64 on the script's stdin.
PUT_THRESHOLD = 256 * 1024
_MODE = re.compile(r"^0?[0-7]{3}$")


def stamp() -> str:
    """UTC time to the microsecond: a deploy and its undo in the same second get two names."""
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def replace_script(p: Mapping[str, Any], tmp: str, bak: str, stage: str) -> str:
    """POSIX sh: stage the new file at `tmp`, validate it, snapshot `dest`, rename into place."""
    q, dest = shlex.quote, p["dest"]
    if p["state"] == "absent":
        return f"""set -eu
dest={q(dest)}; bak={q(bak)}
if [ ! -e "$dest" ] && [ ! -L "$dest" ]; then echo "drillctl.changed=0"; exit 0; fi
cp -p "$dest" "$bak"; echo "drillctl.backup=$bak"
rm -f "$dest"; echo "drillctl.changed=1"
"""
    if p["mode"]:
        mode = f'chmod {q(p["mode"])} "$tmp"'
    elif p["restore"]:
        mode = ":"  # cp -p kept the snapshot's mode and owner
    else:  # keep the mode and owner of the file being replaced
        mode = (
            'if [ -e "$dest" ]; then chmod "$(stat -c %a "$dest")" "$tmp"; '
            'chown "$(stat -c %u:%g "$dest")" "$tmp" 2>/dev/null || true; '
            'else chmod 0644 "$tmp"; fi'
        )
    validate = ""
    if p["validate"]:
        check = p["validate"].replace("%s", q(tmp))
        validate = f'/bin/sh -c {q(check)} || {{ echo "validation failed: {check}" >&2; exit 5; }}'
    return f"""set -eu
dest={q(dest)}; tmp={q(tmp)}; bak={q(bak)}
trap 'rm -f "$tmp"' EXIT
{stage}
{mode}
if [ -f "$dest" ] && cmp -s "$tmp" "$dest" \\
   && [ "$(stat -c %a "$tmp")" = "$(stat -c %a "$dest")" ]; then
  echo "drillctl.changed=0"; exit 0
fi
{validate}
if [ -e "$dest" ]; then cp -p "$dest" "$bak"; echo "drillctl.backup=$bak"; fi
mv -fT "$tmp" "$dest"
echo "drillctl.changed=1"
"""


class ConfigAction(Action):
    name = "config"
    reversible = True
    description = (
        "Replace a configuration file atomically: upload beside it, validate, snapshot the old "
        "file, rename into place, restart. The snapshot is restored byte for byte on rollback."
    )
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["dest"],
        "oneOf": [
            {"required": ["content"]},
            {"required": ["src"]},
            {"required": ["restore"]},
            {"required": ["state"]},
        ],
        "examples": [
            {
                "dest": "/etc/app/app.conf",
                "src": "templates/app.conf.j2",
                "validate": "app --check-config %s",
                "restart": "systemctl restart app",
            },
            {"dest": "/etc/app/limits.conf", "content": "max_orders={{ limit }}\n"},
        ],
        "properties": {
            "dest": {"type": "string", "description": "Absolute path of the file on the host."},
            "content": {"type": "string", "description": "The new file's text (templated)."},
            "src": {
                "type": "string",
                "description": "Template file on the controller, rendered with the step's "
                "variables (relative paths are relative to the working directory).",
            },
            "restore": {
                "type": "string",
                "description": "Snapshot file on the host to put back (what the undo uses).",
            },
            "state": {
                "enum": ["absent"],
                "description": "`absent` removes `dest` (after snapshotting it).",
            },
            "mode": {
                "type": "string",
                "pattern": "^0?[0-7]{3}$",
                "description": "Octal mode, quoted. Default: the replaced file's mode, else 0644.",
                "examples": ["0644", "0600"],
            },
            "validate": {
                "type": "string",
                "description": "Command that must succeed on the new file before it is put in "
                "place; `%s` is replaced by the (quoted) temporary file's path.",
                "examples": ["nginx -t -c %s", "python3 -m json.tool %s"],
            },
            "restart": {
                "type": "string",
                "description": "Shell command run after the file changed (and after the undo).",
            },
        },
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, Mapping):
            raise ActionArgError("config takes a mapping (dest, content or src, …)")
        dest = str(args.get("dest") or "")
        if not posixpath.isabs(dest) or "\n" in dest or dest.endswith("/"):
            raise ActionArgError(f"dest must be an absolute file path, got {dest!r}")
        sources = [k for k in ("content", "src", "restore", "state") if k in args]
        if len(sources) != 1:
            raise ActionArgError("config needs exactly one of content, src, restore or state")
        if "state" in args and args["state"] != "absent":
            raise ActionArgError(f"state can only be absent, got {args['state']!r}")
        mode = args.get("mode")
        if mode is not None and not (isinstance(mode, str) and _MODE.match(mode)):
            raise ActionArgError(f"mode must be a quoted octal string like '0644', got {mode!r}")
        validate = args.get("validate")
        if validate is not None and "%s" not in str(validate):
            raise ActionArgError("validate must contain %s (the path of the file to check)")
        params = {
            "dest": dest,
            "state": "absent" if "state" in args else "file",
            "content": args.get("content"),
            "src": args.get("src"),
            "restore": args.get("restore"),
            "mode": mode,
            "validate": str(validate) if validate else None,
            "restart": str(args["restart"]) if args.get("restart") else None,
        }
        source = {"content": "inline content", "src": f"template {params['src']}"}.get(
            sources[0], f"snapshot {params['restore']}" if params["restore"] else "absent"
        )
        return PlannedAction(self.name, f"{dest} <- {source}", params=params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p, conn = planned.params, self.connection(ctx)
        try:
            body = self._body(p, ctx)
        except (OSError, TemplateError) as exc:
            return ActionOutcome(False, f"src {p['src']}: {exc}")
        tmp = f"{p['dest']}.drillctl-tmp-{uuid.uuid4().hex[:12]}"
        bak = f"{p['dest']}.drillctl-{stamp()}.bak"
        stage, stdin = "", None  # state: absent stages nothing
        if p["restore"]:
            snap = shlex.quote(p["restore"])
            stage = (
                f'[ -f {snap} ] || {{ echo "no snapshot "{snap}" on this host" >&2; exit 6; }}\n'
                f'cp -p {snap} "$tmp"'
            )
        elif body is not None and len(body) > PUT_THRESHOLD:
            stage = '[ -f "$tmp" ]'  # already uploaded with put
            try:
                _put_bytes(conn, body, tmp)
            except OSError as exc:
                return ActionOutcome(False, f"upload to {tmp} failed: {exc}")
        elif body is not None:
            stage, stdin = 'base64 -d > "$tmp"', base64.b64encode(body).decode()
        script = replace_script(p, tmp, bak, stage)
        result = conn.run(
            CommandSpec(shell=script, stdin=stdin), timeout=ctx.timeout, cancel=ctx.cancel
        )
        found = markers(result.stdout)
        if result.rc != 0 or result.timed_out or result.cancelled or "changed" not in found:
            problem = result.stderr.strip().splitlines()
            return outcome_from_command(result, ok=False, msg=problem[-1] if problem else "")
        backup = found.get("backup")
        data = {"changed": found["changed"] == "1", "dest": p["dest"], "backup": backup}
        if not data["changed"]:
            return ActionOutcome(True, f"{p['dest']} unchanged", data=data)
        undo = self._undo(p, backup)
        msg = f"{'removed' if p['state'] == 'absent' else 'replaced'} {p['dest']}" + (
            f" (old file saved as {backup})" if backup else " (it did not exist)"
        )
        if not p["restart"]:
            return ActionOutcome(True, msg, data=data, undo=undo)
        restarted = outcome_from_command(
            conn.run(CommandSpec(shell=p["restart"]), timeout=ctx.timeout, cancel=ctx.cancel)
        )
        if restarted.ok:
            return ActionOutcome(
                True, msg + "; restarted", stdout=restarted.stdout, data=data, undo=undo
            )
        # The file did change: keep the undo so a rollback can still put the old one back.
        why = f"{msg}, but restart failed: {restarted.msg}"
        return replace(restarted, msg=why, data=data, undo=undo)

    @staticmethod
    def _body(p: Mapping[str, Any], ctx: ActionContext) -> bytes | None:
        """The new file's bytes, rendered; None when the source is already on the host."""
        if p["content"] is not None:
            return str(p["content"]).encode()
        if p["src"] is not None:
            text = Path(p["src"]).read_text(encoding="utf-8")
            return ctx.templar.render_text(text, ctx.variables).encode()
        return None

    def _undo(self, p: Mapping[str, Any], backup: str | None) -> Undo:
        args: dict[str, Any] = {"dest": p["dest"]}
        if backup:
            # No `validate`: the snapshot is what ran before, and a check written for the new
            # version must not stand in the way of going back to it.
            args["restore"] = backup
            summary = f"restore {p['dest']} from {backup}"
        else:
            args["state"] = "absent"
            summary = f"remove {p['dest']} (it did not exist before)"
        if p["restart"]:
            args["restart"] = p["restart"]
        return Undo(self.name, args, summary)


def _put_bytes(conn: Connection, body: bytes, remote: str) -> None:
    """Write `body` to a local temporary file and `put` it to `remote`."""
    fd, local = tempfile.mkstemp(prefix="drillctl-config-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        conn.put(local, remote)
    finally:
        os.unlink(local)
