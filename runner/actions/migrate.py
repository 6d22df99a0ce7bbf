"""`migrate`: run a schema migration in a transaction, with a backup first and a check after.

SQLite runs through the `sqlite3` CLI when the host has it, else through `python3` and its
standard `sqlite3` module; PostgreSQL through `psql`, `pg_dump` and `pg_restore`. The
password travels on the script's standard input (read into PGPASSWORD by the shell), never
on a command line, where `ps` on the host would show it. Backups go to the run's state
directory on the host (runner.actions.state), removed at the end of a run once the rollback
succeeded. The undo is this action with `direction: down`: it takes a fresh backup, runs
the down script (carried inline, as it was when `up` ran) and its check, and names the
pre-`up` backup, which `restore_backup: true` restores.

A PostgreSQL restore makes the database's schemas exactly the backup's, in one transaction:
every user schema but `public` is dropped, `public` is emptied (extensions stay), and the
backup is replayed. Objects a migration added, such as a table with a foreign key to a
restored one, go with them, and nothing is changed if any statement fails.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
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
from runner.actions.database import PG_EMPTY_SCHEMAS, client_script, split_password, truthy
from runner.actions.state import ensure_script, host_state_dir, unique_name
from runner.connections.base import CommandResult, CommandSpec
from runner.inventory.model import Host

ENGINES = ("sqlite", "postgresql")
_SQL_DOC = (
    "SQL text, or the path of a `.sql` file on the controller (a single line ending in .sql). "
    "Do not put BEGIN/COMMIT in it: it runs inside one transaction."
)


class MigrateAction(Action):
    name = "migrate"
    reversible = True
    keeps_state = True
    description = (
        "Run a database schema migration (SQLite or PostgreSQL) in a transaction, after a "
        "backup, then a check query; the down migration is recorded for `rollback: auto`."
    )
    schema = {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "required": ["engine", "database"],
        "examples": [
            {
                "engine": "sqlite",
                "database": "/var/lib/app/orders.db",
                "up": "migrations/0042_add_note.up.sql",
                "down": "migrations/0042_add_note.down.sql",
                "check": "SELECT count(*) FROM pragma_table_info('orders') WHERE name='note'",
            },
            {
                "engine": "postgresql",
                "database": "postgresql://app@db1:5432/orders",
                "password": "{{ db_password }}",
                "up": "ALTER TABLE orders ADD COLUMN note text",
                "down": "ALTER TABLE orders DROP COLUMN note",
            },
        ],
        "properties": {
            "engine": {"enum": list(ENGINES), "description": "Database engine."},
            "database": {
                "type": "string",
                "description": "SQLite: absolute path of the database file on the host. "
                "PostgreSQL: a DSN (URI or key=value); a password in it is moved to PGPASSWORD.",
            },
            "password": {"type": "string", "description": "PostgreSQL password (use a secret)."},
            "direction": {"enum": ["up", "down"], "default": "up", "description": "Which runs."},
            "up": {"type": "string", "description": f"The migration. {_SQL_DOC}"},
            "down": {"type": "string", "description": f"Its reversal. {_SQL_DOC}"},
            "check": {
                "type": "string",
                "description": "Query run after the migration; its first row's first column "
                "must be true (not empty, 0, f, false, no, off or NULL).",
            },
            "down_check": {"type": "string", "description": "The `check` the undo runs."},
            "backup": {
                "type": "boolean",
                "default": True,
                "description": "Back up before changing anything (SQLite: online backup "
                "API; PostgreSQL: pg_dump -Fc). The path is in the result and in the undo.",
            },
            "backup_dir": {
                "type": "string",
                "description": "Directory on the host for backups, which then stay there. "
                "Default: the run's state directory on the host (`drillctl_state_dir`, "
                "/var/tmp/drillctl), removed once the run's rollback succeeded.",
            },
            "backup_file": {"type": "string", "description": "Backup to restore (the undo's)."},
            "restore_backup": {
                "type": "boolean",
                "default": False,
                "description": "With direction down: after the down script (if any), restore "
                "`backup_file`. Writes made since the backup are lost: this is the fallback. "
                "PostgreSQL: the schemas become exactly the backup's (objects added since, "
                "with their foreign keys, are dropped), in one transaction.",
            },
            "client": {
                "enum": ["auto", "cli", "python"],
                "default": "auto",
                "description": "SQLite client: the sqlite3 CLI if present (auto), or python3.",
            },
        },
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, Mapping):
            raise ActionArgError("migrate takes a mapping (engine, database, up, down, …)")
        engine, database = args.get("engine"), str(args.get("database") or "")
        if engine not in ENGINES:
            raise ActionArgError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
        if engine == "sqlite" and not posixpath.isabs(database):
            raise ActionArgError(f"database must be an absolute file path, got {database!r}")
        direction = args.get("direction", "up")
        restore = bool(args.get("restore_backup", False))
        if direction not in ("up", "down"):
            raise ActionArgError(f"direction must be up or down, got {direction!r}")
        if not args.get(direction) and not (direction == "down" and restore):
            raise ActionArgError(f"direction {direction} needs `{direction}` (the SQL to run)")
        if restore and (direction != "down" or not args.get("backup_file")):
            raise ActionArgError("restore_backup needs direction: down and backup_file")
        dsn, password = (database, None) if engine == "sqlite" else split_password(database)
        backup_dir = args.get("backup_dir")
        if backup_dir is not None and not posixpath.isabs(str(backup_dir)):
            raise ActionArgError(f"backup_dir must be an absolute path, got {backup_dir!r}")
        params = {
            "engine": engine,
            "database": dsn,
            "password": args.get("password") or password,
            # The undo carries the connection as given: a password split off a secret DSN
            # would be a new string that the secret mask does not know.
            "given": {k: args[k] for k in ("database", "password") if args.get(k)},
            "direction": direction,
            "up": args.get("up"),
            "down": args.get("down"),
            "check": args.get("check"),
            "down_check": args.get("down_check"),
            "backup": bool(args.get("backup", True)),
            "backup_dir": str(backup_dir) if backup_dir else None,
            "backup_file": args.get("backup_file"),
            "restore_backup": restore,
            "client": str(args.get("client", "auto")),
        }
        script = args.get(direction)
        what = f"{direction} ({_describe(script)})" if script else "restore backup"
        return PlannedAction(self.name, f"{engine} {dsn}: {what}", params=params)

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        p = planned.params
        try:
            sql = _load(p[p["direction"]]) if p[p["direction"]] else None
            down = _load(p["down"]) if p["down"] else None
        except OSError as exc:
            return ActionOutcome(False, f"cannot read the SQL file: {exc}")
        data: dict[str, Any] = {"changed": False, "direction": p["direction"], "backup": None}

        def run(
            op: str, stdin: str = "", file: str | None = None, prefix: str = ""
        ) -> CommandResult:
            script, full_stdin = client_script(p, op, stdin, file)
            script = f"{prefix}\n{script}" if prefix else script
            spec = CommandSpec(shell=script, stdin=full_stdin)
            return self.connection(ctx).run(spec, timeout=ctx.timeout, cancel=ctx.cancel)

        def failed(result: CommandResult, what: str, undo: Undo | None = None) -> ActionOutcome:
            out = outcome_from_command(result, ok=False)
            why = (result.stderr.strip().splitlines() or [out.msg])[-1]
            return replace(out, msg=f"{what} failed: {why}", data=data, undo=undo)

        if p["backup"]:
            base = posixpath.basename(p["database"]) if p["engine"] == "sqlite" else "pg"
            try:
                state = host_state_dir(ctx.variables)
            except ValueError as exc:
                return ActionOutcome(False, f"{exc}; nothing changed", data=data)
            directory = p["backup_dir"] or state
            path = posixpath.join(directory, f"{unique_name(base)}.backup")
            # The run's state directory is made private on first use; a backup_dir is yours.
            result = run(
                "backup", file=path, prefix=ensure_script(state) if directory == state else ""
            )
            if result.rc != 0 or result.timed_out or result.cancelled:
                return failed(result, "backup")
            data["backup"] = path
            if directory == state:
                data["state_dir"] = state
        undo = self._undo(p, down, data["backup"]) if p["direction"] == "up" else None
        steps: list[str] = []
        if sql is not None:
            result = run("exec", sql)
            if result.rc != 0 or result.timed_out or result.cancelled:
                return failed(result, f"{p['direction']} (rolled back)")
            steps.append(f"{p['direction']} applied")
        if p["restore_backup"]:
            result = run("restore", PG_EMPTY_SCHEMAS, file=p["backup_file"])
            if result.rc != 0 or result.timed_out or result.cancelled:
                return failed(result, f"restoring {p['backup_file']}")
            steps.append(f"restored {p['backup_file']}")
        data["changed"] = True
        if p["check"]:
            result = run("query", p["check"])
            data["check"] = (result.stdout.splitlines() or [""])[0]
            if result.rc != 0 or result.timed_out or result.cancelled:
                return failed(result, "check", undo)
            if not truthy(result.stdout):
                return ActionOutcome(
                    False,
                    f"check is false: {p['check']!r} returned {data['check']!r}",
                    data=data,
                    undo=undo,
                )
            steps.append("check passed")
        if data["backup"]:
            steps.insert(0, f"backup {data['backup']}")
        if p["direction"] == "up" and undo is None:
            steps.append("no down script and no backup: this migration cannot be undone")
        return ActionOutcome(True, "; ".join(steps), data=data, undo=undo)

    def _undo(self, p: Mapping[str, Any], down: str | None, backup: str | None) -> Undo | None:
        if down is None and backup is None:
            return None
        keep = ("engine", "backup_dir", "client")
        args: dict[str, Any] = {k: p[k] for k in keep if p[k] is not None} | dict(p["given"])
        args["direction"] = "down"
        if down is not None:
            args["down"] = down
        if backup is not None:
            args["backup_file"] = backup
        # Without a down script the backup is the only way back.
        args["restore_backup"] = down is None
        if p["down_check"]:
            args["check"] = p["down_check"]
        how = "down migration" if down is not None else f"restore {backup}"
        return Undo(self.name, args, f"{how} on {p['database']}")


def _describe(sql: str) -> str:
    return sql if _is_file(sql) else f"{len(sql.splitlines())} line(s) of SQL"


def _is_file(sql: str) -> bool:
    return "\n" not in sql.strip() and sql.strip().lower().endswith(".sql")


def _load(sql: str) -> str:
    return Path(sql.strip()).read_text(encoding="utf-8") if _is_file(sql) else sql
