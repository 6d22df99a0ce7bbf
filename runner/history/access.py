"""Which run history a command uses, reading it, and recording each finished run.

The history lives in `drills/history.db` under the current directory unless `--history`
(or the DRILLCTL_HISTORY environment variable) names another SQLite file or a
`postgresql://` URL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from runner.errors import InputError
from runner.history.quarter import Quarter
from runner.history.rows import RunRow
from runner.history.store import DEFAULT_HISTORY, HistoryStore, open_store

ENV_HISTORY = "DRILLCTL_HISTORY"
# DRILLCTL_HISTORY=off: do not record (`drill run` records its runs itself).
_OFF = frozenset({"off", "none", "no"})


def history_target(explicit: str | None) -> str:
    """The history given (--history), else $DRILLCTL_HISTORY, else drills/history.db."""
    return explicit or os.environ.get(ENV_HISTORY) or str(DEFAULT_HISTORY)


def check_history_target(explicit: str | None) -> str:
    """The history target, refused as bad input when it is a URL drillctl cannot record to.

    Checked before a run starts: `ftp://host/db` or `postgresl://…` (a typo) would otherwise
    be taken for a SQLite file path, and the run recorded in a local file `ftp:/host/db`
    instead of the history it was meant for."""
    target = history_target(explicit)
    if "://" in target and not target.startswith(("postgresql://", "postgres://")):
        given = "--history" if explicit else f"${ENV_HISTORY}"
        raise InputError.at(
            "<command line>",
            1,
            1,
            f"{given} {target!r}: give a SQLite file path or a postgresql:// URL",
        )
    return target


def open_for_reading(explicit: str | None) -> HistoryStore | None:
    """The history to read, or None when the default-style SQLite file does not exist yet
    (reading must not create it: an empty history simply has no runs)."""
    target = check_history_target(explicit)
    if "://" not in target and not Path(target).exists():
        return None
    return open_store(target)


def read_runs(
    explicit: str | None, quarter: Quarter | None = None, component: str | None = None
) -> list[RunRow]:
    """The recorded runs, oldest first; none when there is no history yet."""
    store = open_for_reading(explicit)
    if store is None:
        return []
    with store:
        return store.runs(quarter, component)


def record_run(result: dict[str, Any] | None, run_dir: Path, history: str | None) -> bool:
    """Record a finished run; never fails the drill. False (with a warning) if not recorded.

    `result` None reads the run directory (result.json, or the journal if that is damaged).
    """
    target = history_target(history)
    if target.strip().lower() in _OFF:
        return False
    try:
        with open_store(target) as store:
            if result is None:
                store.import_run(run_dir)
            else:
                store.record(result, run_dir)
    except Exception as exc:  # the evidence is on disk; the history can be rebuilt from it
        print(
            f"drillctl: warning: the run is not in the history ({target}): {exc}\n"
            f"  record it later with: drillctl history import {run_dir}",
            file=sys.stderr,
        )
        return False
    return True
