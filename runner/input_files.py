"""Reading an input file (playbook, inventory, vars file, `--limit @FILE`) as bad input allows.

A path the user names may be anything: a directory, a FIFO, a device. `open()` on a FIFO
with no writer waits forever, and a device may never end; so only a regular file is read,
and anything else is a located error (exit 2) before a byte is read.
"""

from __future__ import annotations

import stat
from pathlib import Path

from runner.errors import InputError


def read_input_text(path: str | Path, display: str | None = None, *, what: str = "") -> str:
    """The UTF-8 text of the regular file at `path`, or InputError at `display`:1:1.
    `what` prefixes the messages (e.g. `--limit @FILE: `)."""
    where = str(path) if display is None else display
    try:
        mode = Path(path).stat().st_mode
    except FileNotFoundError:
        raise InputError.at(where, 1, 1, f"{what}file not found") from None
    except (OSError, ValueError) as exc:
        raise InputError.at(where, 1, 1, f"{what}cannot read file: {exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError.at(where, 1, 1, f"{what}cannot read file: it is a directory; give a file")
    if not stat.S_ISREG(mode):
        raise InputError.at(
            where,
            1,
            1,
            f"{what}cannot read file: not a regular file (a FIFO, socket or device); give a file",
        )
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.at(where, 1, 1, f"{what}file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.at(where, 1, 1, f"{what}cannot read file: {exc}") from None
