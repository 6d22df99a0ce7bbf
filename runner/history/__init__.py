"""The run history: every drill's result, in SQLite (default) or PostgreSQL.

`open_store(path_or_url)` gives a `HistoryStore` (record, import_run, runs, get) at the
latest schema version; `record_run` is what `drillctl run` calls when a drill ends.
"""

from runner.history.access import record_run
from runner.history.quarter import Quarter
from runner.history.rows import RunRow, StoredRun
from runner.history.store import DEFAULT_HISTORY, HistoryStore, open_store

__all__ = [
    "DEFAULT_HISTORY",
    "HistoryStore",
    "Quarter",
    "RunRow",
    "StoredRun",
    "open_store",
    "record_run",
]
