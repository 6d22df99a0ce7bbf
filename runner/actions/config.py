"""`config`: replace a configuration file atomically, validated, with a snapshot to undo.

The new content is staged in the run's state directory on the target (runner.actions.state),
never beside `dest`, where a glob such as nginx's `include sites-enabled/*` would load it.
The old file is copied byte for byte, with its mode and owner, to a snapshot in that same
directory. The new file then reaches `dest` through a hidden `.<name>.drillctl-…` copy in
`dest`'s directory and a rename (atomic, same file system); globs skip dot files.

`validate` with `%s` checks the staged file before anything changes. Without `%s` it checks
the file in place (nginx -t reads the whole configuration, the new site file included): when
it fails the old file is put back at once. Either way a failed validation fails the step and
leaves the old file at `dest`. The undo restores the snapshot through this same action (with
the same restart), or removes `dest` when there was none, and then deletes the snapshot.
"""

from __future__ import annotations

import base64
import os
import posixpath
import re
import shlex
import tempfile
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
from runner.actions.state import ensure_script, host_state_dir, unique_name
from runner.connections.base import CommandSpec, Connection
from runner.inventory.model import Host
from runner.templating.templar import TemplateError

# Above this size the content travels with the connection's `put` (sftp, docker archive,
# copy) instead of base64 on the script's stdin.
PUT_THRESHOLD = 256 * 1024
_MODE = re.compile(r"^0?[0-7]{3}$")
# Exit codes of the script, each with its own message on stderr.
VALIDATION_FAILED, NO_SNAPSHOT, PUT_BACK_FAILED = 5, 6, 7


# sh: put the snapshot (or the absence of a file) back at dest, atomically.
_PUT_BACK = (
    'if [ -n "$had" ]; then cp -p "$bak" "$hidden" && mv -fT "$hidden" "$dest"; '
    'else rm -f "$dest"; fi'
)


def replace_script(p: Mapping[str, Any], state: str, new: str, bak: str, stage: str) -> str:
    """POSIX sh: stage the new file in `state`, validate, snapshot `dest`, rename into place.

    Markers on stdout say what happened: `backup=` (a snapshot exists) and `placing=1` are
    printed before `dest` is touched, so a run cut short after them still records the undo;
    `changed=`, and `restored=1` when a failed in-place validation put the old file back.
    """
    q, dest = shlex.quote, p["dest"]
    directory, base = posixpath.split(dest)
    # Short enough for any file name limit; unique per run of this script (its random part).
    hidden = posixpath.join(directory, f".{base[:100]}.drillctl-{new.rsplit('.', 2)[-2]}")
    head = f"""set -eu
dest={q(dest)}; new={q(new)}; bak={q(bak)}; hidden={q(hidden)}; had=
trap 'rm -f "$new" "$hidden"' EXIT
"""
    if p["restore"]:
        # The undo: put the snapshot back and delete it; no new snapshot (nothing undoes it).
        return (
            head
            + f"""snap={q(p["restore"])}
[ -f "$snap" ] || {{ echo "no snapshot $snap on this host" >&2; exit {NO_SNAPSHOT}; }}
if [ -f "$dest" ] && cmp -s "$snap" "$dest" \\
   && [ "$(stat -c %a "$snap")" = "$(stat -c %a "$dest")" ]; then
  rm -f "$snap"; echo "drillctl.changed=0"; exit 0
fi
cp -p "$snap" "$hidden"; mv -fT "$hidden" "$dest"
rm -f "$snap"
echo "drillctl.changed=1"
"""
        )
    head += ensure_script(state) + "\n"
    after = _in_place_check(p["validate"]) if p["validate"] and "%s" not in p["validate"] else ""
    if p["state"] == "absent":
        return (
            head
            + f"""if [ ! -e "$dest" ] && [ ! -L "$dest" ]; then
  echo "drillctl.changed=0"; exit 0
fi
cp -p "$dest" "$bak"; had=1; echo "drillctl.backup=$bak"; echo "drillctl.placing=1"
rm -f "$dest"
{after}
echo "drillctl.changed=1"
"""
        )
    if p["mode"]:
        mode = f'chmod {q(p["mode"])} "$new"'
    else:  # keep the mode and owner of the file being replaced
        mode = (
            'if [ -e "$dest" ]; then chmod "$(stat -c %a "$dest")" "$new"; '
            'chown "$(stat -c %u:%g "$dest")" "$new" 2>/dev/null || true; '
            'else chmod 0644 "$new"; fi'
        )
    before = ""
    if p["validate"] and "%s" in p["validate"]:
        check = p["validate"].replace("%s", q(new))
        before = (
            f"/bin/sh -c {q(check)} || "
            f"{{ echo 'validation failed: '{q(check)} >&2; exit {VALIDATION_FAILED}; }}"
        )
    return (
        head
        + f"""{stage}
{mode}
if [ -f "$dest" ] && cmp -s "$new" "$dest" \
   && [ "$(stat -c %a "$new")" = "$(stat -c %a "$dest")" ]; then
  echo "drillctl.changed=0"; exit 0
fi
{before}
if [ -e "$dest" ]; then cp -p "$dest" "$bak"; had=1; echo "drillctl.backup=$bak"; fi
echo "drillctl.placing=1"
cp -p "$new" "$hidden"; mv -fT "$hidden" "$dest"
{after}
echo "drillctl.changed=1"
"""
    )


def _in_place_check(check: str) -> str:
    """sh: run `check` with the change at dest; if it fails, put the old state back and exit."""
    q = shlex.quote
    return f"""if ! /bin/sh -c {q(check)}; then
  echo 'validation failed: '{q(check)} >&2
  if {_PUT_BACK}; then
    rm -f "$bak"; echo "drillctl.restored=1"
    echo "the old $dest was put back" >&2; exit {VALIDATION_FAILED}
  fi
  echo "validation failed and the old $dest could NOT be put back (snapshot: $bak)" >&2
  exit {PUT_BACK_FAILED}
fi"""


class ConfigAction(Action):
    name = "config"
    reversible = True
    keeps_state = True
    description = (
        "Replace a configuration file atomically: stage it in the run's state directory, "
        "validate, snapshot the old file there, rename into place, restart. A failed validation "
        "fails the step and leaves the old file; the snapshot is restored byte for byte on "
        "rollback, then deleted."
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
                "description": "Snapshot file on the host to put back, then delete (what the "
                "undo uses).",
            },
            "state": {
                "enum": ["absent"],
                "description": "`absent` removes `dest` (after snapshotting it); a `validate` "
                "without `%s` then checks the configuration without it.",
            },
            "mode": {
                "type": "string",
                "pattern": "^0?[0-7]{3}$",
                "description": "Octal mode, quoted. Default: the replaced file's mode, else 0644.",
                "examples": ["0644", "0600"],
            },
            "validate": {
                "type": "string",
                "description": "Shell command that must succeed for the new file to stay. With "
                "`%s` (replaced by the quoted path of the staged file, in the run's state "
                "directory) it runs before `dest` changes. Without `%s` it runs once the new "
                "file is at `dest` (to check a whole configuration that includes it); if it "
                "fails the old file is put back at once. Either way the step fails.",
                "examples": [
                    "python3 -m json.tool %s",
                    "nginx -t -q -c /etc/nginx/nginx.conf",
                ],
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
        if validate is not None and not str(validate).strip():
            raise ActionArgError("validate is empty: give the command that checks the file")
        if validate is not None and "state" in args and "%s" in str(validate):
            raise ActionArgError("with state: absent there is no new file for %s: check in place")
        if "restore" in args and not posixpath.isabs(str(args["restore"] or "")):
            raise ActionArgError(f"restore must be an absolute path, got {args['restore']!r}")
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
        try:
            state = host_state_dir(ctx.variables)
        except ValueError as exc:
            return ActionOutcome(False, f"{exc}; {p['dest']} unchanged")
        name = unique_name(posixpath.basename(p["dest"]))
        new, bak = posixpath.join(state, f"{name}.new"), posixpath.join(state, f"{name}.bak")
        stage, stdin = "", None  # restore and state: absent stage nothing
        if body is not None and len(body) > PUT_THRESHOLD:
            stage = '[ -f "$new" ]'  # already uploaded with put
            made = conn.run(
                CommandSpec(shell=ensure_script(state)), timeout=ctx.timeout, cancel=ctx.cancel
            )
            if made.rc != 0 or made.timed_out or made.cancelled:
                problem = made.stderr.strip().splitlines()
                return outcome_from_command(made, ok=False, msg=problem[-1] if problem else "")
            try:
                _put_bytes(conn, body, new)
            except OSError as exc:
                return ActionOutcome(False, f"upload to {new} failed: {exc}")
        elif body is not None:
            stage, stdin = 'base64 -d > "$new"', base64.b64encode(body).decode()
        script = replace_script(p, state, new, bak, stage)
        result = conn.run(
            CommandSpec(shell=script, stdin=stdin), timeout=ctx.timeout, cancel=ctx.cancel
        )
        found = markers(result.stdout)
        backup = found.get("backup")
        data = {
            "changed": found.get("changed") == "1",
            "dest": p["dest"],
            "backup": backup,
            "state_dir": state,
        }
        # `dest` may have changed once `placing` was printed, unless the old file went back.
        touched = "placing" in found and "restored" not in found
        undo = self._undo(p, backup) if touched or (data["changed"] and not p["restore"]) else None
        if result.rc != 0 or result.timed_out or result.cancelled or "changed" not in found:
            problem = result.stderr.strip().splitlines()
            out = outcome_from_command(result, ok=False, msg=problem[-1] if problem else "")
            if result.rc == VALIDATION_FAILED and len(problem) > 1:
                out = replace(out, msg="; ".join(problem[-2:]))
            return replace(out, data={**data, "changed": touched}, undo=undo)
        if not data["changed"]:
            return ActionOutcome(True, f"{p['dest']} unchanged", data=data)
        if p["restore"]:
            msg = f"restored {p['dest']} from {p['restore']} (snapshot deleted)"
        else:
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
