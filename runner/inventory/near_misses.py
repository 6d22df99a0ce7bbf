"""Host variables one keystroke from a name drillctl reads to reach or guard the host.

`conection: local` is an ordinary variable, so the host is reached over ssh; `prot: 2222`
leaves the port at 22, where another sshd may answer; `enviroment: production` leaves the
host without the production guards. Any name is free for playbooks to
use, so such a variable is not refused: a drill or exec that targets the host says, before
anything runs, which name it looks like and where it was written.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping

from runner.errors import Diagnostic
from runner.inventory.connection_fields import (
    ADDRESS_KEYS,
    CONNECTION_KEYS,
    PORT_KEYS,
    USER_KEYS,
)
from runner.inventory.source import Located

WARNING = "warning"

# The names that decide where and as whom a host's commands run, and whether the production
# guards apply to it (`enviroment: production` leaves it unguarded).
REACH_NAMES = (*ADDRESS_KEYS, *PORT_KEYS, *USER_KEYS, *CONNECTION_KEYS, "environment")


def misspelled_reach_names(
    located: Mapping[str, Located], names: Collection[str] = REACH_NAMES
) -> list[Diagnostic]:
    """A warning for each of a host's variables (`located`) one edit from one of `names`
    that the host does not set itself (a plural, such as `ports`, is a name of its own).
    Each is located where the variable was written and does not name the host: the hosts
    of a group share one warning for the group's variable."""
    found = []
    for key, item in located.items():
        meant = next((n for n in _look_alikes(key, tuple(names)) if n not in located), None)
        if meant is None:
            continue
        found.append(
            Diagnostic(
                item.origin.path,
                item.origin.line,
                item.origin.col,
                f"variable {key!r} looks like {meant!r}, which the host does not set: "
                f"drillctl reads {meant!r}, and {key!r} is an ordinary variable (rename it "
                "if it is meant as the first)",
                severity=WARNING,
            )
        )
    return found


@functools.lru_cache(maxsize=4096)
def _look_alikes(key: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """The names `key` is one edit from (hosts of a fleet share their variables' names)."""
    if key in names:
        return ()
    return tuple(n for n in names if one_edit_apart(key, n))


def one_edit_apart(written: str, name: str) -> bool:
    """One letter added, dropped, changed or two neighbours swapped, ignoring case; not a
    plural `s`, and not the same name."""
    a, b = written.lower(), name.lower()
    if a == b:
        return written != name  # only the case differs: `Port`
    if a == b + "s" or b == a + "s":
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diffs) == 1:
            return True
        i = diffs[0]
        return diffs == [i, i + 1] and a[i] == b[i + 1] and a[i + 1] == b[i]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    if len(longer) - len(shorter) != 1:
        return False
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
