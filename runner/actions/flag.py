"""`flag` and `flag.file`: toggle a feature flag, remembering its old value for the undo.

`flag` talks to a flag service over HTTP from the controller: it reads the current value,
sets the new one, and reads it back. `flag.file` edits a JSON or `KEY=VALUE` file on the
target. Both refuse to change a flag whose current value they cannot read, because then
there would be nothing to roll back to. (Two actions, because whether a step needs a
connection to its host is decided per action, before its arguments are known.)
"""

from __future__ import annotations

import base64
import json
import posixpath
import re
import shlex
from collections.abc import Mapping
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
from runner.actions.http import request
from runner.connections.base import CommandSpec
from runner.durations import DURATION_SCHEMA, parse_duration
from runner.inventory.model import Host
from runner.secrets import cut_head

_VALUE = {"description": "The value to set (any JSON value).", "examples": [False, "on", 25]}


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: `true` is not `1`, `"1"` is not `1` (Python's == says True == 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and bool(a == b)


class FlagAction(Action):
    name = "flag"
    controller_side = True
    reversible = True
    description = (
        "Set a feature flag through its HTTP API (read the old value, set, read back); "
        "the old value is recorded so `rollback: auto` sets it back."
    )
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["url", "value"],
        "examples": [
            {"url": "http://flags.local/api/features/new-pricing", "value": False},
            {"url": "http://flags.local/api/features/x", "value": True, "method": "POST"},
        ],
        "properties": {
            "url": {"type": "string", "description": "URL the new value is sent to."},
            "value": _VALUE,
            "method": {"type": "string", "default": "PUT", "description": "Method that sets."},
            "read": {
                "type": "string",
                "description": "URL answering the current value with GET (default: `url`).",
            },
            "json_key": {
                "type": ["string", "null"],
                "default": "enabled",
                "description": "Key holding the value in the JSON read and sent, as "
                "`{json_key: value}`; null: the whole JSON body is the value.",
            },
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "verify": {
                "type": "boolean",
                "default": True,
                "description": "Read the flag back after setting it and fail if it differs.",
            },
            "timeout": {**DURATION_SCHEMA, "default": "10s", "description": "Per request."},
        },
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, Mapping):
            raise ActionArgError("flag takes a mapping (url, value, …)")
        if "file" in args:
            raise ActionArgError("flags in files on the target: use `flag.file`")
        if "value" not in args:
            raise ActionArgError("flag needs `value`")
        url = str(args.get("url") or "")
        read = str(args.get("read") or url)
        for u in (url, read):
            if not u.startswith(("http://", "https://")):
                raise ActionArgError(f"url must start with http:// or https://, got {u!r}")
        try:
            timeout = parse_duration(args.get("timeout", "10s"))
        except ValueError as exc:
            raise ActionArgError(f"timeout: {exc}") from None
        key = args.get("json_key", "enabled")
        params = {
            "url": url,
            "read": read,
            "method": str(args.get("method", "PUT")).upper(),
            "json_key": str(key) if key else None,
            "value": args["value"],
            "headers": {str(k): str(v) for k, v in (args.get("headers") or {}).items()},
            "verify": bool(args.get("verify", True)),
            "timeout": timeout,
        }
        summary = f"{params['method']} {url}: {json.dumps(args['value'])}"
        return PlannedAction(self.name, summary, params=params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p = planned.params
        limit = p["timeout"] if ctx.timeout is None else min(ctx.timeout, p["timeout"])
        old, problem = self._read(p, limit)
        if problem:
            return ActionOutcome(False, f"cannot read the current value, flag unchanged: {problem}")
        data = {"changed": not same_json(old, p["value"]), "previous": old, "value": p["value"]}
        if not data["changed"]:
            return ActionOutcome(True, f"already {json.dumps(old)}", data=data)
        body = {p["json_key"]: p["value"]} if p["json_key"] else p["value"]
        headers = {"Content-Type": "application/json", **p["headers"]}
        resp = request(
            p["url"],
            method=p["method"],
            headers=headers,
            body=json.dumps(body).encode(),
            timeout=limit,
        )
        undo = Undo(
            self.name,
            {k: p[k] for k in ("url", "read", "method", "json_key", "headers")} | {"value": old},
            f"set {p['url']} back to {json.dumps(old)}",
        )
        if resp.error or resp.status is None or not 200 <= resp.status < 300:
            # The request may still have reached the service: offer the undo anyway.
            why = resp.error or f"status {resp.status}"
            return ActionOutcome(False, f"setting failed: {why}", stdout=resp.body, undo=undo)
        if p["verify"]:
            now, problem = self._read(p, limit)
            if problem or not same_json(now, p["value"]):
                seen = problem or f"reads back {json.dumps(now)}"
                return ActionOutcome(False, f"set, but {seen}", data=data, undo=undo)
        msg = f"{json.dumps(old)} -> {json.dumps(p['value'])}"
        return ActionOutcome(True, msg, stdout=resp.body, data=data, undo=undo)

    @staticmethod
    def _read(p: Mapping[str, Any], timeout: float) -> tuple[Any, str]:
        """(current value, "") or (None, what went wrong)."""
        resp = request(p["read"], headers=p["headers"], timeout=timeout)
        if resp.error or resp.status is None or not 200 <= resp.status < 300:
            return None, resp.error or f"GET {p['read']}: status {resp.status}"
        body = resp.json()
        if body is None and resp.body.strip() != "null":
            return None, f"GET {p['read']}: the answer is not JSON"
        if p["json_key"] is None:
            return body, ""
        if not isinstance(body, dict) or p["json_key"] not in body:
            return None, f"GET {p['read']}: no {p['json_key']!r} in {cut_head(resp.body, 200)!r}"
        return body[p["json_key"]], ""


class FlagFileAction(Action):
    name = "flag.file"
    reversible = True
    description = (
        "Set a feature flag in a JSON or KEY=VALUE file on the target (atomic replace, mode "
        "and owner kept); the old value is recorded so `rollback: auto` sets it back."
    )
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["file", "name"],
        "oneOf": [{"required": ["value"]}, {"required": ["state"]}],
        "examples": [
            {"file": "/etc/app/flags.json", "name": "new_pricing", "value": False},
            {"file": "/etc/app/features.env", "name": "NEW_PRICING", "value": "off"},
        ],
        "properties": {
            "file": {"type": "string", "description": "Absolute path of the flags file."},
            "name": {"type": "string", "description": "Flag (top-level JSON key or KEY)."},
            "value": {
                **_VALUE,
                "description": "Value to set. In KEY=VALUE files booleans are written "
                "true/false and everything else as text, unquoted.",
            },
            "state": {"enum": ["absent"], "description": "`absent` removes the flag."},
            "format": {
                "enum": ["auto", "json", "env"],
                "default": "auto",
                "description": "`auto`: JSON when the file name ends in .json, else KEY=VALUE.",
            },
        },
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, Mapping):
            raise ActionArgError("flag.file takes a mapping (file, name, value)")
        path, name = str(args.get("file") or ""), str(args.get("name") or "")
        if not path.startswith("/") or "\n" in path:
            raise ActionArgError(f"file must be an absolute path, got {path!r}")
        fmt = str(args.get("format", "auto"))
        if fmt == "auto":
            fmt = "json" if path.endswith(".json") else "env"
        if fmt == "env" and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
            raise ActionArgError(f"name must be a KEY for a KEY=VALUE file, got {name!r}")
        if not name or ("value" in args) == (args.get("state") == "absent"):
            raise ActionArgError("flag.file needs `name` and either `value` or `state: absent`")
        absent = "value" not in args
        params = {"file": path, "name": name, "format": fmt, "absent": absent}
        params["value"] = None if absent else args["value"]
        shown = "absent" if absent else json.dumps(args["value"])
        read = CommandSpec(shell=f"base64 < {shlex.quote(path)}")
        return PlannedAction(self.name, f"{path}: {name} = {shown}", read, params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p, conn = planned.params, self.connection(ctx)
        if planned.spec is None:
            raise RuntimeError("flag.file: planned without a command")
        read = conn.run(planned.spec, timeout=ctx.timeout, cancel=ctx.cancel)
        if read.rc != 0 or read.timed_out or read.cancelled:
            return outcome_from_command(read, ok=False, msg=f"cannot read {p['file']}")
        try:
            text = base64.b64decode(read.stdout).decode("utf-8")
            edit = edit_json if p["format"] == "json" else edit_env
            new_text, old, present = edit(text, p["name"], p["value"], p["absent"])
        except (ValueError, TypeError) as exc:
            return ActionOutcome(False, f"{p['file']}: {exc}; flag unchanged")
        data = {"changed": new_text != text, "previous": old, "value": p["value"]}
        if not data["changed"]:
            return ActionOutcome(True, f"{p['name']} already {json.dumps(old)}", data=data)
        q = shlex.quote
        # cp -p first, so the new file keeps the old one's mode and owner. The copy is a
        # hidden file: a glob such as conf.d/*.env that loads the flags file skips it.
        directory, base = posixpath.split(p["file"])
        tmp = posixpath.join(directory, f".{base}.drillctl-")
        script = (
            f"set -eu; f={q(p['file'])}; tmp={q(tmp)}$$; trap 'rm -f \"$tmp\"' EXIT\n"
            'cp -p "$f" "$tmp"; base64 -d > "$tmp"; mv -fT "$tmp" "$f"'
        )
        stdin = base64.b64encode(new_text.encode("utf-8")).decode()
        wrote = conn.run(
            CommandSpec(shell=script, stdin=stdin), timeout=ctx.timeout, cancel=ctx.cancel
        )
        if wrote.rc != 0 or wrote.timed_out or wrote.cancelled:
            return outcome_from_command(wrote, ok=False)
        base = {"file": p["file"], "name": p["name"], "format": p["format"]}
        # A flag present with the value null goes back to null, not away.
        undo_args = base | ({"value": old} if present else {"state": "absent"})
        undo = Undo(self.name, undo_args, f"set {p['name']} in {p['file']} back")
        shown = "absent" if p["absent"] else json.dumps(p["value"])
        return ActionOutcome(
            True, f"{p['name']}: {json.dumps(old)} -> {shown}", data=data, undo=undo
        )


def edit_json(text: str, name: str, value: Any, absent: bool) -> tuple[str, Any, bool]:
    """(new text, old value, whether it was present) for a JSON object file.

    Key order and indent are kept.
    """
    doc = json.loads(text or "{}")
    if not isinstance(doc, dict):
        raise ValueError("the JSON file does not hold an object")
    old, present = doc.get(name), name in doc
    if absent:
        if not present:
            return text, None, False
        del doc[name]
    elif present and same_json(doc[name], value):
        return text, old, True
    else:
        doc[name] = value
    indent = re.search(r"\n([ \t]+)\S", text)
    # An all-ASCII file (\u escapes) stays ASCII; one with UTF-8 text keeps it literal.
    out = json.dumps(doc, indent=indent.group(1) if indent else None, ensure_ascii=text.isascii())
    return out + ("\n" if text.endswith("\n") else ""), old, present


def edit_env(text: str, name: str, value: Any, absent: bool) -> tuple[str, Any, bool]:
    """(new text, old raw value, whether it was present) for a KEY=VALUE file.

    Other lines stay as they are.

    The last assignment is the one that counts (a shell or systemd reading the file ends
    with it), so that is the one reported and changed.
    """
    rendered = "true" if value is True else "false" if value is False else str(value)
    pattern = re.compile(rf"^(\s*(?:export\s+)?{re.escape(name)}\s*=)(.*?)(\r?\n)?$")
    lines = text.splitlines(keepends=True)
    hits = [i for i, raw in enumerate(lines) if pattern.match(raw)]
    if not hits:
        if absent:
            return text, None, False
        prefix = text if not text or text.endswith("\n") else text + "\n"
        return f"{prefix}{name}={rendered}\n", None, False
    match = pattern.match(lines[hits[-1]])
    assert match is not None  # it matched when hits was built
    old = match.group(2)
    if absent:
        lines = [raw for i, raw in enumerate(lines) if i not in hits]
    else:
        lines[hits[-1]] = match.group(1) + rendered + (match.group(3) or "")
    return "".join(lines), old, True
