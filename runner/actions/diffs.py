"""`--diff`: what a `config`, `flag.file` or `release` step changes, as a unified diff.

The diff is worked out before the step runs, from what is on the target now (read with a
read-only command) and what the step will make of it, the same way the action computes it.
`plan --diff` and `run --check --diff` show it without running the step; `run --diff` shows
it once the step has changed something. Callers print it through the run's secret mask.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import posixpath
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.actions.base import PlannedAction
from runner.actions.flag import edit_env, edit_json
from runner.connections.base import CancelToken, CommandSpec, Connection
from runner.templating.templar import Templar, TemplateError

DIFF_ACTIONS = frozenset({"config", "flag.file", "release"})
# Larger files are not diffed: the terminal is no place for them.
MAX_DIFF_BYTES = 1 << 20
READ_TIMEOUT_S = 30.0
_PRESENT = "drillctl.present=1"


class DiffUnavailable(Exception):
    """The current state could not be read, or is not text: no diff, and why."""


def step_diff(
    planned: PlannedAction,
    connection: Connection,
    templar: Templar,
    variables: Mapping[str, Any],
    cancel: CancelToken,
    timeout: float = READ_TIMEOUT_S,
) -> str:
    """The unified diff `planned` would make on the host now ('' when it changes nothing).

    Each read of the target ends within `timeout` seconds."""
    p = planned.params
    if planned.action == "config":
        old = _read_file(connection, p["dest"], cancel, timeout)
        new = _config_body(p, connection, templar, variables, cancel, timeout)
        return _unified(p["dest"], old, new)
    if planned.action == "flag.file":
        old = _read_file(connection, p["file"], cancel, timeout)
        edit = edit_json if p["format"] == "json" else edit_env
        try:
            new, _, _ = edit(old or "", p["name"], p["value"], p["absent"])
        except (ValueError, TypeError) as exc:
            raise DiffUnavailable(f"{p['file']}: {exc}") from None
        return _unified(p["file"], old, new)
    if planned.action == "release":
        previous = _read_link(connection, p["link"], cancel, timeout)
        if previous is not None:
            previous = posixpath.normpath(posixpath.join(posixpath.dirname(p["link"]), previous))
        old = f"{p['link']} -> {previous}\n" if previous else None
        return _unified(p["link"], old, f"{p['link']} -> {p['target']}\n")
    raise ValueError(f"no diff for action {planned.action}")


def preview_diff(
    planned: PlannedAction,
    connection: Connection,
    templar: Templar,
    variables: Mapping[str, Any],
    cancel: CancelToken,
    timeout: float | None = None,
) -> str | None:
    """`step_diff` for the actions that have one (None for others); a state that cannot be
    read gives its reason instead of a diff, never a made-up empty one. A step's own
    `timeout` also bounds the reads."""
    if planned.action not in DIFF_ACTIONS:
        return None
    bound = min(READ_TIMEOUT_S, timeout) if timeout else READ_TIMEOUT_S
    try:
        return step_diff(planned, connection, templar, variables, cancel, bound)
    except DiffUnavailable as exc:
        return f"(no diff: {exc})\n"


def _config_body(
    p: Mapping[str, Any],
    connection: Connection,
    templar: Templar,
    variables: Mapping[str, Any],
    cancel: CancelToken,
    timeout: float,
) -> str | None:
    if p["content"] is not None:
        return str(p["content"])
    if p["src"] is not None:
        try:
            return templar.render_text(Path(p["src"]).read_text(encoding="utf-8"), variables)
        except (OSError, TemplateError) as exc:
            raise DiffUnavailable(f"src {p['src']}: {exc}") from None
    if p["restore"]:
        snapshot = _read_file(connection, p["restore"], cancel, timeout)
        if snapshot is None:
            raise DiffUnavailable(f"no snapshot {p['restore']} on this host")
        return snapshot
    return None  # state: absent


def _read_file(
    connection: Connection, path: str, cancel: CancelToken, timeout: float
) -> str | None:
    """The file's text, or None when there is none."""
    q = shlex.quote(path)
    script = (
        f"if [ -e {q} ]; then echo {_PRESENT}; "
        f"if [ $(wc -c < {q}) -gt {MAX_DIFF_BYTES} ]; then echo big; else base64 < {q}; fi; fi"
    )
    result = connection.run(CommandSpec(shell=script), timeout=timeout, cancel=cancel)
    if result.rc != 0 or result.timed_out or result.cancelled:
        why = (result.stderr.strip().splitlines() or [f"exit code {result.rc}"])[-1]
        raise DiffUnavailable(f"cannot read {path}: {why}")
    first, _, body = result.stdout.partition("\n")
    if first.strip() != _PRESENT:
        return None
    if body.strip() == "big":
        raise DiffUnavailable(f"{path} is larger than {MAX_DIFF_BYTES} bytes")
    try:
        return base64.b64decode(body).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise DiffUnavailable(f"{path} is not UTF-8 text") from None


def _read_link(
    connection: Connection, link: str, cancel: CancelToken, timeout: float
) -> str | None:
    q = shlex.quote(link)
    script = f"if [ -L {q} ]; then readlink {q}; fi"
    result = connection.run(CommandSpec(shell=script), timeout=timeout, cancel=cancel)
    if result.rc != 0 or result.timed_out or result.cancelled:
        raise DiffUnavailable(f"cannot read the link {link}")
    return result.stdout.strip() or None


def _unified(path: str, old: str | None, new: str | None) -> str:
    """Unified diff of two texts (None: no such file), as `diff -u` prints it."""
    if old == new:
        return ""
    before = _lines(old)
    after = _lines(new)
    return "".join(
        difflib.unified_diff(
            before,
            after,
            fromfile=f"before: {path}" if old is not None else "before: /dev/null",
            tofile=f"after: {path}" if new is not None else "after: /dev/null",
        )
    )


def _lines(text: str | None) -> list[str]:
    if not text:
        return []
    lines = text.splitlines(keepends=True)
    if not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
