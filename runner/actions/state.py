"""Where actions keep what a rollback needs on a target: the run's own state directory.

Snapshots (`config`) and backups (`migrate`) never sit beside what they protect, where a
glob such as nginx's `include sites-enabled/*` or a `conf.d/*.conf` would load them as live
configuration. They go to `<root>/<run_id>/<host>/` on the target (root: the host variable
`drillctl_state_dir`, default /var/tmp/drillctl), mode 0700 since a snapshot may hold
secrets. An undo that used a snapshot removes it; at the end of the run the engine removes
the whole directory, unless a rollback that needed it did not succeed (see
runner.engine.undo).
"""

from __future__ import annotations

import posixpath
import re
import shlex
import time
import uuid
from collections.abc import Mapping
from typing import Any

DEFAULT_ROOT = "/var/tmp/drillctl"
ROOT_VAR = "drillctl_state_dir"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _component(value: str) -> str:
    """One path component made only of safe characters (never `.`, `..` or empty)."""
    cleaned = _UNSAFE.sub("_", value).strip(".") or "_"
    return cleaned[:120]


def state_root(variables: Mapping[str, Any]) -> str:
    """The directory under which every run keeps its state on this host.

    Raises ValueError for a relative path or one with a newline: it is never replaced by the
    default behind the author's back.
    """
    root = str(variables.get(ROOT_VAR) or DEFAULT_ROOT)
    if not posixpath.isabs(root) or "\n" in root or posixpath.normpath(root) == "/":
        raise ValueError(f"{ROOT_VAR} must be an absolute directory other than /, got {root!r}")
    return posixpath.normpath(root)


def run_dir_on_target(variables: Mapping[str, Any]) -> str:
    """`<root>/<run_id>`: every host of the run keeps its state below it."""
    run_id = str(variables.get("run_id") or "")
    if not run_id:  # an action run outside a drill (tests, tools): a name of its own
        run_id = f"no-run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    return posixpath.join(state_root(variables), _component(run_id))


def host_state_dir(variables: Mapping[str, Any]) -> str:
    """`<root>/<run_id>/<host>`: this host's snapshots and backups for this run."""
    host = str(variables.get("inventory_hostname") or "host")
    return posixpath.join(run_dir_on_target(variables), _component(host))


def ensure_script(state: str) -> str:
    """POSIX sh that creates `state` (0700) under sticky, world-writable parents.

    The root and the run's directory are shared like /tmp (a step with `become` and one
    without may both keep state on one host); each host's directory is private to the user
    that created it. Another run may remove the empty default root between two of the
    mkdirs (release_script): the sequence is tried again.
    """
    q = shlex.quote
    run = posixpath.dirname(state)
    root = posixpath.dirname(run)
    make = (
        f"mkdir -p {q(posixpath.dirname(root))} && "
        f"{{ mkdir -m 1777 {q(root)} 2>/dev/null || [ -d {q(root)} ]; }} && "
        f"{{ mkdir -m 1777 {q(run)} 2>/dev/null || [ -d {q(run)} ]; }} && "
        f"{{ mkdir -m 700 {q(state)} 2>/dev/null || [ -d {q(state)} ]; }}"
    )
    return (
        f"drillctl_try=0; until {make}; do drillctl_try=$((drillctl_try + 1)); "
        f"[ $drillctl_try -lt 5 ] || "
        f"{{ echo 'cannot create the state directory '{q(state)} >&2; exit 8; }}; done"
    )


def release_script(state: str) -> str:
    """POSIX sh that removes a host's state directory, the run's when it is empty, and the
    default root when no other run uses it (a root you chose stays)."""
    q = shlex.quote
    run = posixpath.dirname(state)
    root = posixpath.dirname(run)
    tidy = f"rmdir {q(run)} 2>/dev/null"
    if root == DEFAULT_ROOT:
        tidy += f"; rmdir {q(root)} 2>/dev/null"
    return f"rm -rf -- {q(state)} && {{ {tidy}; true; }}"


def unique_name(label: str) -> str:
    """A file name for one snapshot: what it is for, when, and a random part."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    return f"{_component(label)}.{stamp}.{uuid.uuid4().hex[:8]}"
