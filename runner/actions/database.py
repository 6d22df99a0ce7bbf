"""The database clients `migrate` drives: one POSIX sh script per operation (exec, query,
backup, restore) for SQLite and PostgreSQL, and how their connection strings and answers
are read.

SQLite runs through the `sqlite3` CLI when the host has it, else through `python3` and its
standard `sqlite3` module; PostgreSQL through `psql`, `pg_dump` and `pg_restore`. The
password travels on the script's standard input (read into PGPASSWORD by the shell), never
on a command line, where `ps` on the host would show it.
"""

from __future__ import annotations

import re
import shlex
import urllib.parse
from collections.abc import Mapping
from typing import Any

_FALSY = {"", "0", "f", "false", "no", "off", "null"}
_KV_PASSWORD = re.compile(r"(^|\s)password\s*=\s*('(?:\\.|[^'\\])*'|\S+)")

# The SQLite client used when the host has no sqlite3 CLI: argv is MODE DB [FILE], SQL on stdin.
_PY_SQLITE = """\
import sqlite3, sys
mode, db = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db, isolation_level=None)
try:
    if mode == "exec":
        con.executescript("BEGIN;\\n" + sys.stdin.read() + "\\n;COMMIT;")
    elif mode == "query":
        row = con.execute(sys.stdin.read()).fetchone()
        if row is not None:
            print("|".join("" if v is None else str(v) for v in row))
    else:
        other = sqlite3.connect(sys.argv[3])
        (con.backup(other) if mode == "backup" else other.backup(con))
        other.close()
except sqlite3.Error as exc:
    if con.in_transaction:
        con.execute("ROLLBACK")
    sys.exit("Error: %s" % exc)
"""

# Run before the backup is replayed, in the same transaction (psql --single-transaction).
# Every statement is computed before any runs, so a name dropped by an earlier CASCADE is
# skipped (IF EXISTS) instead of failing; objects that belong to an extension are left to it.
PG_EMPTY_SCHEMAS = r"""
SET client_min_messages = warning;
DO $drillctl$
DECLARE
  stmt text;
  stmts text[];
BEGIN
  SELECT coalesce(array_agg(format('DROP SCHEMA IF EXISTS %I CASCADE', nspname)), '{}')
    INTO stmts
    FROM pg_namespace
   WHERE nspname NOT IN ('public', 'information_schema')
     AND nspname NOT LIKE 'pg\_%'
     AND NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extnamespace = pg_namespace.oid);
  FOREACH stmt IN ARRAY stmts LOOP EXECUTE stmt; END LOOP;
  SELECT coalesce(array_agg(s), '{}') INTO stmts FROM (
    SELECT format('DROP %s IF EXISTS public.%I CASCADE',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                                 ELSE 'TABLE' END, c.relname) AS s
      FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
    UNION ALL
    SELECT format('DROP ROUTINE IF EXISTS public.%I(%s) CASCADE', p.proname,
                  pg_get_function_identity_arguments(p.oid))
      FROM pg_proc p
     WHERE p.pronamespace = 'public'::regnamespace
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.deptype = 'e')
    UNION ALL
    SELECT format('DROP TYPE IF EXISTS public.%I CASCADE', t.typname)
      FROM pg_type t
     WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('c', 'd', 'e', 'r')
       AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                          AND d.deptype = 'e')
  ) AS drops;
  FOREACH stmt IN ARRAY stmts LOOP EXECUTE stmt; END LOOP;
  -- The backup re-creates its large objects by oid: the ones there now must go first.
  PERFORM lo_unlink(oid) FROM pg_largeobject_metadata;
END
$drillctl$;
"""


def split_password(dsn: str) -> tuple[str, str | None]:
    """(DSN without its password, the password) for URI and key=value connection strings."""
    if dsn.startswith(("postgres://", "postgresql://")):
        parts = urllib.parse.urlsplit(dsn)
        if parts.password is None:
            return dsn, None
        user = f"{parts.username}@" if parts.username else ""
        host = parts.netloc.rpartition("@")[2]
        bare = urllib.parse.urlunsplit(parts._replace(netloc=user + host))
        return bare, urllib.parse.unquote(parts.password)
    found = _KV_PASSWORD.search(dsn)
    if found is None:
        return dsn, None
    value = found.group(2)
    if value.startswith("'"):
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return (dsn[: found.start()] + dsn[found.end() :]).strip(), value


def truthy(output: str) -> bool:
    """Whether the first column of the first row a client printed counts as true."""
    lines = output.splitlines()
    return bool(lines) and lines[0].split("|")[0].strip().lower() not in _FALSY


def _dot_arg(path: str) -> str:
    """A path as a double-quoted argument of a sqlite3 dot-command (backslash escapes)."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def client_script(p: Mapping[str, Any], op: str, stdin: str, file: str | None) -> tuple[str, str]:
    """(POSIX sh script, its stdin) for one operation: exec, query, backup or restore."""
    q, db = shlex.quote, p["database"]
    if p["engine"] == "postgresql":
        tail = {
            "exec": 'psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f - -d "$dsn"',
            "query": 'psql -X -q -A -t -v ON_ERROR_STOP=1 -f - -d "$dsn"',
            "backup": f'pg_dump -Fc -f {q(file or "")} -d "$dsn"',
            # The replay script is written first and checked: a pipe from a failing
            # pg_restore would leave psql committing the emptied schemas alone.
            "restore": f"sql={q((file or '') + '.restore.sql')}; trap 'rm -f \"$sql\"' EXIT; "
            f'pg_restore --no-owner -f "$sql" {q(file or "")} && '
            'psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$dsn" -f - -f "$sql"',
        }[op]
        if op in ("exec", "query"):
            stdin += "\n;\n"  # psql runs a statement only once it is terminated
        if p["password"] is None:
            return f"dsn={q(db)}; {tail}", stdin
        # The first line of stdin is the password; the client reads the rest.
        read = "IFS= read -r PGPASSWORD || true; export PGPASSWORD"
        return f"dsn={q(db)}; {read}; {tail}", f"{p['password']}\n{stdin}"
    cli = "sqlite3 -bail -batch -init /dev/null"
    via_cli = {
        "exec": f"{{ printf 'BEGIN;\\n'; cat; printf '\\n;COMMIT;\\n'; }} | {cli} {q(db)}",
        "query": f"{cli} -list -noheader {q(db)}",
        "backup": f"{cli} {q(db)} {q('.backup ' + _dot_arg(file or ''))}",
        "restore": f"{cli} {q(db)} {q('.restore ' + _dot_arg(file or ''))}",
    }[op]
    via_python = f"python3 -c {q(_PY_SQLITE)} {op} {q(db)}" + (f" {q(file)}" if file else "")
    use_cli = {"cli": "true", "python": "false"}.get(
        p["client"], "command -v sqlite3 >/dev/null 2>&1"
    )
    return (
        f"if {use_cli}; then {via_cli}\n"
        f"elif command -v python3 >/dev/null 2>&1; then {via_python}\n"
        "else echo 'neither the sqlite3 CLI nor python3 is on this host' >&2; exit 127; fi",
        stdin,
    )
