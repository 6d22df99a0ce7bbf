"""File faults: `file.corrupt` (truncate, garbage, append) and `file.mutate` (replace, content).

Both take a byte-for-byte backup first, `cp -p` (mode, owner, times) to a hidden file beside
the original, `.NAME.drillctl-<token>.bak`: same filesystem, survives a reboot, and no
`conf.d/*` glob picks it up. The backup is copied to a temporary name and renamed, so it
exists whole or not at all, and the mutation (a second operation) refuses to run without it.
Mutation and restore write into the existing file, keeping its inode, mode and owner; the
restore is `cp -p`, which also puts the times back. Revert restores only from a backup and
deletes it only once `cmp` says the file is identical again, so it can run any number of times.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from runner.faults.base import Fault, FaultArgError, FaultContext, FaultOp, FaultPlan
from runner.faults.resources import SIZE_SCHEMA, parse_size
from runner.faults.scripts import DURATION_PROPERTY, MAX_FAULT_S, seconds, shell_op, token_of
from runner.inventory.model import Host

MAX_GARBAGE = 1 << 20

_PATH = {
    "type": "string",
    "pattern": "^/",
    "description": "Absolute path of an existing regular file.",
    "examples": ["/etc/order-gateway/app.conf"],
}
_MAX_SIZE = {
    **SIZE_SCHEMA,
    "default": "1G",
    "description": "Refuse files larger than this (the backup is a full copy).",
}

_BACKUP = """[ -f "$path" ] || fail "$path is not a regular file"
[ "$(wc -c <"$path")" -le "$max" ] || fail "$path is larger than max_size ($max bytes)"
PRECONDITION
if [ -e "$bak" ]; then echo "keeping $bak from an earlier inject"; exit 0; fi
cp -p "$path" "$bak.tmp" && mv -f "$bak.tmp" "$bak" ||
  { rm -f "$bak.tmp"; fail "cannot back up $path to $bak"; }
echo "backed up $path to $bak"
"""
_MUTATE = """[ -f "$bak" ] || fail "no backup $bak: refusing to change $path"
MUTATION
cmp -s "$bak" "$path" && fail "$path is unchanged after the mutation"
echo "changed $path"
"""
_RESTORE = """rm -f "$bak.tmp"
[ -f "$bak" ] || { echo "nothing to restore: no backup $bak"; exit 0; }
cp -p "$bak" "$path" || fail "could not restore $path; the backup $bak is kept"
cmp -s "$bak" "$path" || fail "$path still differs from $bak; the backup is kept"
rm -f "$bak"
echo "restored $path"
"""
_CHANGED = '[ -f "$bak" ] && ! cmp -s "$bak" "$path"'


def _backup_path(path: str, ctx: FaultContext) -> str:
    head, name = posixpath.split(path)
    return posixpath.join(head, f".{name}.drillctl-{token_of(ctx)}.bak")


def _path(args: Mapping[str, Any]) -> str:
    path = args.get("path")
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
        raise FaultArgError("`path` must be the absolute path of a file")
    return path


def _plan(
    kind: str,
    args: Mapping[str, Any],
    host: Host,
    ctx: FaultContext,
    summary: str,
    precondition: str,
    mutation: str,
    **extra: str,
) -> FaultPlan:
    """Backup, mutate, restore: the discipline both file faults share."""
    path = _path(args)
    bak = _backup_path(path, ctx)
    values = {"path": path, "bak": bak}
    max_size = str(parse_size(args.get("max_size", "1G"), "max_size"))
    duration = seconds(args, "duration", "0", MAX_FAULT_S) if "duration" in args else None
    backup = _BACKUP.replace("PRECONDITION", precondition)
    inject: tuple[FaultOp, ...] = (
        shell_op(kind, "inject-backup", ctx, backup, **values, **extra, max=max_size),
        shell_op(kind, "inject", ctx, _MUTATE.replace("MUTATION", mutation), **values, **extra),
    )
    return FaultPlan(
        kind=kind,
        host=host.name,
        summary=summary,
        inject=inject,
        revert=(shell_op(kind, "revert", ctx, _RESTORE, **values),),
        check=shell_op(kind, "check", ctx, _CHANGED, **values),
        precheck=shell_op(kind, "precheck", ctx, "need cp mv cmp wc head tail"),
        precheck_error=f"{kind} needs cp, mv, cmp, wc, head and tail on {host.name}",
        duration_s=duration,
        manual=f"cp -p {bak} {path} && cmp {bak} {path} && rm -f {bak}",
    )


def _count(args: Mapping[str, Any], key: str, default: int, maximum: int) -> int:
    value = args.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise FaultArgError(f"`{key}` must be an integer from 0 to {maximum}")
    return value


class FileCorrupt(Fault):
    kind = "file.corrupt"
    description = "Corrupt a file (truncate, overwrite bytes with garbage, append); restored."
    schema = {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "path": _PATH,
            "mode": {
                "enum": ["truncate", "garbage", "append"],
                "description": "truncate: keep the first `length` bytes; garbage: overwrite "
                "`bytes` bytes from `offset` with random ones; append: add `text`.",
            },
            "length": {"type": "integer", "minimum": 0, "default": 0},
            "bytes": {"type": "integer", "minimum": 1, "maximum": MAX_GARBAGE, "default": 64},
            "offset": {"type": "integer", "minimum": 0, "default": 0},
            "text": {"type": "string", "minLength": 1, "default": "\n#@! drillctl garbage !@#\n"},
            "max_size": _MAX_SIZE,
            "duration": DURATION_PROPERTY,
        },
        "required": ["path", "mode"],
        "examples": [
            {"path": "/var/lib/gw/state.db", "mode": "garbage", "offset": 4096, "bytes": 512},
            {"path": "/etc/gw/app.conf", "mode": "truncate"},
        ],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        mode = args.get("mode")
        path = _path(args)
        if mode == "truncate":
            length = _count(args, "length", 0, 1 << 62)
            return _plan(
                self.kind,
                args,
                host,
                ctx,
                f"truncate {path} to {length} bytes",
                '[ "$(wc -c <"$path")" -gt "$length" ] || fail "$path is not longer than $length"',
                'head -c "$length" "$bak" >"$path"',
                length=str(length),
            )
        if mode == "garbage":
            count = _count(args, "bytes", 64, MAX_GARBAGE)
            offset = _count(args, "offset", 0, 1 << 62)
            if count < 1:
                raise FaultArgError("`bytes` must be at least 1")
            # Rebuilt from the backup around the random bytes; tried again should the random
            # bytes happen to equal the original ones (then the file would look unchanged).
            mutation = """n=$(($(wc -c <"$bak") - offset)); [ "$n" -gt "$count" ] && n=$count
for try in 1 2 3; do
  { head -c "$offset" "$bak"; head -c "$n" /dev/urandom
    tail -c +$((offset + n + 1)) "$bak"; } >"$path"
  cmp -s "$bak" "$path" || break
done"""
            return _plan(
                self.kind,
                args,
                host,
                ctx,
                f"overwrite {count} bytes of {path} at offset {offset} with garbage",
                '[ "$(wc -c <"$path")" -gt "$offset" ] || fail "$path ends before offset $offset"',
                mutation,
                count=str(count),
                offset=str(offset),
            )
        if mode == "append":
            text = args.get("text", "\n#@! drillctl garbage !@#\n")
            if not isinstance(text, str) or not text:
                raise FaultArgError("`text` must be a non-empty string")
            return _plan(
                self.kind,
                args,
                host,
                ctx,
                f"append {len(text)} characters to {path}",
                ":",
                'printf "%s" "$text" >>"$path"',
                text=text,
            )
        raise FaultArgError("`mode` must be truncate, garbage or append")


def sed_pattern(text: str) -> str:
    """`text` as a literal basic regular expression for sed's `s/…/…/`."""
    return re.sub(r"([\\/.*\[^$])", r"\\\1", text)


def sed_replacement(text: str) -> str:
    """`text` as a literal sed replacement (POSIX: a newline is written backslash-newline)."""
    return re.sub(r"([\\/&])", r"\\\1", text).replace("\n", "\\\n")


class FileMutate(Fault):
    kind = "file.mutate"
    description = "Change a file's text (`replace` every occurrence, or set `content`); restored."
    schema = {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "path": _PATH,
            "replace": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "from": {
                        "type": "string",
                        "minLength": 1,
                        "pattern": "^[^\\n]*$",
                        "description": "Literal text (one line) to find; it must occur.",
                    },
                    "to": {"type": "string", "description": "Literal replacement."},
                },
                "required": ["from", "to"],
                "description": "Replace every occurrence of `from` with `to`.",
            },
            "content": {"type": "string", "description": "The file's whole new content."},
            "max_size": _MAX_SIZE,
            "duration": DURATION_PROPERTY,
        },
        "required": ["path"],
        "oneOf": [{"required": ["replace"]}, {"required": ["content"]}],
        "examples": [
            {"path": "/etc/gw/app.conf", "replace": {"from": "pool_size=20", "to": "pool_size=0"}},
            {"path": "/etc/gw/feature.flags", "content": "checkout=off\n"},
        ],
    }

    def plan(self, args: Mapping[str, Any], host: Host, ctx: FaultContext) -> FaultPlan:
        path = _path(args)
        if ("replace" in args) == ("content" in args):
            raise FaultArgError("give exactly one of `replace` or `content`")
        if "content" in args:
            content = args["content"]
            if not isinstance(content, str):
                raise FaultArgError("`content` must be a string")
            return _plan(
                self.kind,
                args,
                host,
                ctx,
                f"set the content of {path} ({len(content)} characters)",
                ":",
                'printf "%s" "$content" >"$path"',
                content=content,
            )
        replace = args["replace"]
        if not isinstance(replace, Mapping) or set(replace) != {"from", "to"}:
            raise FaultArgError("`replace` needs exactly `from` and `to`")
        old, new = replace["from"], replace["to"]
        if not isinstance(old, str) or not old or "\n" in old or not isinstance(new, str):
            raise FaultArgError("`replace.from` must be one non-empty line; `to` a string")
        return _plan(
            self.kind,
            args,
            host,
            ctx,
            f"replace {old!r} with {new!r} in {path}",
            'grep -qF -- "$from" "$path" || fail "$path does not contain: $from"',
            'sed "s/$pattern/$replacement/g" "$bak" >"$path"',
            **{"from": old, "pattern": sed_pattern(old), "replacement": sed_replacement(new)},
        )


FILE_FAULTS: tuple[Fault, ...] = (FileCorrupt(), FileMutate())
