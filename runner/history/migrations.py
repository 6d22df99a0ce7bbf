"""Versioned schema of the run history; `schema_migrations` records what has been applied.

Migrations only ever get appended. Each runs in its own transaction together with its row
in `schema_migrations`, so a database is always at exactly one known version. Types are
the ones SQLite and PostgreSQL both understand; booleans are stored as 0/1 integers.
"""

from __future__ import annotations

from dataclasses import dataclass

from runner.errors import TargetEnvironmentError
from runner.history.backends import Database
from runner.history.rows import utc_now

_REAL = "DOUBLE PRECISION"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs, steps and faults",
        (
            f"""CREATE TABLE runs (
                run_id TEXT PRIMARY KEY,
                schema_version INTEGER NOT NULL,
                drill TEXT NOT NULL,
                component TEXT,
                playbook TEXT,
                inventory TEXT,
                environment TEXT,
                operator TEXT,
                change_id TEXT,
                status TEXT NOT NULL,
                reason TEXT,
                started_at TEXT,
                ended_at TEXT,
                quarter TEXT,
                duration_s {_REAL},
                rollback_type INTEGER,
                objective_rto_s {_REAL},
                objective_rpo_s {_REAL},
                budget_s {_REAL},
                time_to_detect_s {_REAL},
                time_to_decide_s {_REAL},
                time_to_rollback_s {_REAL},
                rto_s {_REAL},
                downtime_s {_REAL},
                lost_writes BIGINT,
                rpo_s {_REAL},
                verdict_rto TEXT,
                verdict_rpo TEXT,
                verdict_budget TEXT,
                rolled_back INTEGER NOT NULL,
                rollback_succeeded INTEGER,
                trigger_kind TEXT,
                trigger_phase TEXT,
                trigger_detail TEXT,
                run_dir TEXT,
                plan_entry TEXT,
                source TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                result_json TEXT NOT NULL
            )""",
            "CREATE INDEX runs_by_quarter ON runs (quarter, component)",
            "CREATE INDEX runs_by_plan_entry ON runs (plan_entry)",
            f"""CREATE TABLE steps (
                run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
                idx INTEGER NOT NULL,
                phase TEXT,
                name TEXT,
                action TEXT,
                host TEXT,
                status TEXT,
                started_at TEXT,
                duration_s {_REAL},
                rc BIGINT,
                attempts INTEGER,
                PRIMARY KEY (run_id, idx)
            )""",
            """CREATE TABLE faults (
                run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
                idx INTEGER NOT NULL,
                kind TEXT,
                targets TEXT,
                injected_at TEXT,
                reverted_at TEXT,
                revert_failed INTEGER NOT NULL,
                PRIMARY KEY (run_id, idx)
            )""",
        ),
    ),
    Migration(
        2,
        "run kind and voided runs",
        (
            "ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'drill'",
            "ALTER TABLE runs ADD COLUMN voided_at TEXT",
            "ALTER TABLE runs ADD COLUMN void_reason TEXT",
            "ALTER TABLE runs ADD COLUMN voided_by TEXT",
        ),
    ),
    Migration(
        3,
        "the journal's head hash of each run",
        ("ALTER TABLE runs ADD COLUMN journal_head TEXT",),
    ),
)

LATEST = MIGRATIONS[-1].version


def applied_version(db: Database) -> int:
    rows = db.execute("SELECT MAX(version) FROM schema_migrations")
    return int(rows[0][0] or 0) if rows else 0


def migrate(db: Database) -> int:
    """Bring the database to LATEST; refuse one written by a newer drillctl. Returns the version."""
    with db.transaction():
        # Under the lock: two processes opening a new database must not both create it.
        db.lock_for_migration()
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    pending = [m for m in MIGRATIONS if m.version > applied_version(db)]
    for migration in pending:
        with db.transaction():
            db.lock_for_migration()
            current = applied_version(db)
            if current >= migration.version:
                continue
            for statement in migration.statements:
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, utc_now()),
            )
    version = applied_version(db)
    if version > LATEST:
        raise TargetEnvironmentError(
            f"run history {db.where} has schema version {version}, newer than this drillctl "
            f"knows ({LATEST}): upgrade drillctl to read it"
        )
    return version
