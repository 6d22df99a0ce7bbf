"""The two databases a history can live in, behind one small interface.

SQLite is the default (a file beside the drills, nothing to install); PostgreSQL serves a
team that wants one shared history. The store writes SQL once with `?` placeholders and
portable types; each backend adapts placeholders and transactions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from runner.errors import TargetEnvironmentError

# Any fixed number: the key of the advisory lock that serialises migrations in PostgreSQL.
_MIGRATION_LOCK = 0x64726C6C


class Database(Protocol):
    """A connection: statements, one transaction at a time, and a lock for migrations."""

    dialect: str
    where: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def transaction(self) -> Any: ...

    def lock_for_migration(self) -> None: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """A SQLite file in WAL mode: readers never wait for the writer, and a killed writer's
    unfinished transaction is rolled back on the next open."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.where = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a run's rows go in
            # exactly one transaction rather than whatever the module's implicit rules make.
            self.conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed run survives a power cut too, not only a killed process.
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.Error) as exc:
            raise TargetEnvironmentError(f"cannot open run history {path}: {exc}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, tuple(params)).fetchall())

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front: two drills finishing at once queue here
        # (busy timeout) instead of failing halfway through with "database is locked".
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def lock_for_migration(self) -> None:
        """BEGIN IMMEDIATE already excludes every other writer."""

    def close(self) -> None:
        self.conn.close()


class PostgresDatabase:
    """A PostgreSQL database through psycopg 3, imported only when a URL asks for it."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.where = _without_password(url)
        try:
            import psycopg
        except ImportError:
            raise TargetEnvironmentError(
                "a postgresql:// history needs psycopg 3: pip install 'psycopg[binary]'"
            ) from None
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise TargetEnvironmentError(
                f"cannot connect to run history {self.where}: {str(exc).strip()}"
            ) from None
        self._psycopg = psycopg

    @staticmethod
    def _sql(sql: str) -> str:
        # Our statements contain no literal `?` or `%`, so this swap is the whole dialect.
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return list(cur.fetchall()) if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(self._sql(sql), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def lock_for_migration(self) -> None:
        # Released at commit: two drillctl processes opening a fresh database migrate once.
        self.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def close(self) -> None:
        self.conn.close()


def _without_password(url: str) -> str:
    """The URL as it may be printed: never with its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:********@{netloc}"))


def connect(target: str) -> Database:
    """A `postgresql://` (or `postgres://`) URL, else a SQLite file path."""
    if target.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(target)
    return SqliteDatabase(Path(target))
