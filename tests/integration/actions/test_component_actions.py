"""Component actions on real targets: each deploy records an Undo that restores the old state.

Every test deploys through the action, observes the new state on the target, then runs the
recorded Undo through the action it names (its arguments round-tripped through JSON, as the
journal keeps them) and observes the previous state restored exactly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.actions.base import Action, ActionArgError, ActionContext, ActionOutcome
from runner.actions.config import ConfigAction
from runner.actions.database import split_password
from runner.actions.docker_container import DockerContainerAction
from runner.actions.flag import FlagAction, FlagFileAction
from runner.actions.migrate import MigrateAction
from runner.actions.pip import PipAction
from runner.actions.release import ReleaseAction
from runner.connections.base import CancelToken, CommandResult, CommandSpec, Connection
from runner.connections.docker import DockerConnection
from runner.connections.local import LocalConnection
from runner.connections.ssh import SshConnection
from runner.inventory import implicit_localhost
from runner.inventory.loader import load_inventory
from runner.inventory.model import Host
from runner.templating.templar import Templar

# The lab fixtures are imported, not put in a conftest; tests request them by name.
from tests.lab.docker_lab import (  # noqa: F401
    BusyboxImages,
    ContainerFactory,
    busybox_image,
    docker_engine,
    make_container,
)
from tests.lab.postgres import throwaway_postgres
from tests.lab.ssh_fixtures import ssh_hosts  # noqa: F401

pytestmark = pytest.mark.integration

# Independent of registration in runner.actions.ACTIONS: the actions under test, by name.
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        ReleaseAction(),
        ConfigAction(),
        MigrateAction(),
        FlagAction(),
        FlagFileAction(),
        PipAction(),
        DockerContainerAction(),
    )
}
LOCALHOST = implicit_localhost().hosts["localhost"]


@dataclass
class Target:
    host: Host
    conn: Connection | None
    state_root: Path | None = None  # drillctl_state_dir, as an inventory would set it

    def apply(
        self, action: str, args: Any, variables: Mapping[str, Any] | None = None
    ) -> ActionOutcome:
        """Render, plan and execute one step as the engine does."""
        templar, values = Templar(), dict(variables or {})
        values.setdefault("run_id", "test-run")
        values.setdefault("inventory_hostname", self.host.name)
        if self.state_root is not None:
            values.setdefault("drillctl_state_dir", str(self.state_root))
        planned = ACTIONS[action].plan(templar.render(args, values), self.host)
        ctx = ActionContext(self.host, self.conn, templar, values, CancelToken(), 60)
        return ACTIONS[action].execute(planned, ctx)

    def undo(self, outcome: ActionOutcome) -> ActionOutcome:
        """Run the recorded undo, with its arguments as the journal would give them back."""
        assert outcome.undo is not None, f"no undo recorded: {outcome.msg}"
        args = json.loads(json.dumps(dict(outcome.undo.args)))
        return self.apply(outcome.undo.action, args)


@pytest.fixture
def state_root(tmp_path: Path) -> Path:
    """Where the actions keep this test's snapshots and backups (never beside their files)."""
    return tmp_path / "drillctl-state"


@pytest.fixture
def local(state_root: Path) -> Target:
    return Target(LOCALHOST, LocalConnection(), state_root)


@pytest.fixture(params=["local", "ssh"])
def target(request: pytest.FixtureRequest, state_root: Path) -> Iterator[Target]:
    """The controller itself, then an sshd lab host (as root, on this machine's files)."""
    if request.param == "local":
        yield Target(LOCALHOST, LocalConnection(), state_root)
        return
    lab = request.getfixturevalue("ssh_hosts")
    host = load_inventory(lab.inventory).hosts[lab.addresses[0]]
    conn = SshConnection(host)
    yield Target(host, conn, state_root)
    conn.close()


# -- release ------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    for version in ("3.1.2", "3.2.0"):
        (root / "releases" / version).mkdir(parents=True)
        (root / "releases" / version / "VERSION").write_text(version)
    return root


def test_release_switches_current_and_the_undo_switches_back(target: Target, app: Path) -> None:
    restart = f'echo "$(cat current/VERSION)" >> {app}/restarts.log'
    first = target.apply("release", {"path": str(app), "version": "3.1.2", "restart": restart})
    assert first.ok, first.msg
    assert first.undo is None  # a first deploy has nothing to go back to
    before = os.readlink(app / "current")

    deployed = target.apply(
        "release", {"path": str(app), "to": "releases/3.2.0", "restart": restart}
    )
    assert deployed.ok, deployed.msg
    assert os.readlink(app / "current") == str(app / "releases/3.2.0")
    assert (app / "current/VERSION").read_text() == "3.2.0"
    assert deployed.data["previous"] == before
    assert deployed.undo is not None and deployed.undo.action == "release"
    assert deployed.undo.args == {
        "path": str(app),
        "to": before,
        "current": "current",
        "restart": restart,
    }

    undone = target.undo(deployed)
    assert undone.ok, undone.msg
    assert os.readlink(app / "current") == before
    assert (app / "restarts.log").read_text().split() == ["3.1.2", "3.2.0", "3.1.2"]


def test_release_to_a_missing_directory_fails_and_leaves_current(local: Target, app: Path) -> None:
    assert local.apply("release", {"path": str(app), "version": "3.1.2"}).ok
    outcome = local.apply("release", {"path": str(app), "version": "9.9.9"})
    assert not outcome.ok
    assert "does not exist" in outcome.msg and "9.9.9" in outcome.msg
    assert outcome.undo is None
    assert os.readlink(app / "current") == str(app / "releases/3.1.2")


def test_release_to_the_current_release_changes_nothing(local: Target, app: Path) -> None:
    args = {"path": str(app), "version": "3.1.2", "restart": "exit 1"}
    assert local.apply("release", {"path": str(app), "version": "3.1.2"}).ok
    again = local.apply("release", args)
    assert again.ok and again.data["changed"] is False and again.undo is None


def test_release_undo_keeps_a_relative_link_pointing_at_the_same_release(
    local: Target, app: Path
) -> None:
    (app / "current").symlink_to("releases/3.1.2")
    deployed = local.apply("release", {"path": str(app), "version": "3.2.0"})
    assert deployed.ok, deployed.msg
    assert local.undo(deployed).ok
    assert (app / "current").resolve() == (app / "releases/3.1.2").resolve()


def test_release_switch_never_leaves_current_missing(local: Target, app: Path) -> None:
    assert local.apply("release", {"path": str(app), "version": "3.1.2"}).ok
    missing: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                os.readlink(app / "current")
            except OSError as exc:
                missing.append(str(exc))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for version in ("3.2.0", "3.1.2") * 10:
            assert local.apply("release", {"path": str(app), "version": version}).ok
    finally:
        done.set()
        watcher.join()
    assert missing == []


def test_release_plan_is_pure_and_rejects_nonsense() -> None:
    action = ReleaseAction()
    planned = action.plan({"path": "/opt/app", "version": "3.2.0"}, LOCALHOST)
    assert planned.summary == "/opt/app/current -> /opt/app/releases/3.2.0"
    for bad in (
        {"path": "opt/app", "version": "1"},
        {"path": "/a"},
        {"path": "/a", "to": "b", "version": "1"},
    ):
        with pytest.raises(ActionArgError):
            action.plan(bad, LOCALHOST)


# -- config -------------------------------------------------------------------------------

OLD_CONFIG = b"# managed by hand\r\nport=8080\r\nsecret=\xff\xfe raw bytes\n"


def test_config_replaces_the_file_and_the_undo_restores_its_bytes_and_mode(
    target: Target, tmp_path: Path
) -> None:
    dest = tmp_path / "etc/app.conf"
    dest.parent.mkdir()
    dest.write_bytes(OLD_CONFIG)
    dest.chmod(0o600)
    template = tmp_path / "app.conf.j2"
    template.write_text("port={{ port }}\nworkers={{ workers }}\n")
    restart = f"echo restarted >> {tmp_path}/restarts.log"
    args = {
        "dest": str(dest),
        "src": str(template),
        "mode": "0644",
        "validate": "grep -q '^port=9090$' %s",
        "restart": restart,
    }

    deployed = target.apply("config", args, {"port": 9090, "workers": 4})
    assert deployed.ok, deployed.msg
    assert dest.read_text() == "port=9090\nworkers=4\n"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    backup = Path(deployed.data["backup"])
    # The snapshot lives in the run's state directory, never beside the file it protects.
    assert backup.parent == Path(deployed.data["state_dir"])
    assert backup.is_relative_to(tmp_path / "drillctl-state" / "test-run")
    assert backup.name.startswith("app.conf.") and backup.read_bytes() == OLD_CONFIG
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in dest.parent.iterdir()) == ["app.conf"]

    undone = target.undo(deployed)
    assert undone.ok, undone.msg
    assert dest.read_bytes() == OLD_CONFIG
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert (tmp_path / "restarts.log").read_text() == "restarted\nrestarted\n"
    assert not backup.exists()  # used, so deleted
    assert undone.undo is None  # nothing undoes a rollback


def test_config_large_content_goes_up_with_put(target: Target, tmp_path: Path) -> None:
    dest = tmp_path / "big.conf"
    dest.write_text("small\n")
    content = "".join(f"line {i} {'x' * 60}\n" for i in range(6000))  # ~400 KiB
    deployed = target.apply("config", {"dest": str(dest), "content": content})
    assert deployed.ok, deployed.msg
    assert dest.read_text() == content
    assert target.undo(deployed).ok
    assert dest.read_text() == "small\n"


def test_config_new_file_is_created_and_the_undo_removes_it(local: Target, tmp_path: Path) -> None:
    dest = tmp_path / "new.conf"
    deployed = local.apply("config", {"dest": str(dest), "content": "a=1\n"})
    assert deployed.ok, deployed.msg
    assert dest.read_text() == "a=1\n" and stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert deployed.undo is not None and deployed.undo.args["state"] == "absent"
    assert local.undo(deployed).ok
    assert not dest.exists()


def test_config_rejected_by_validate_leaves_the_old_file_alone(
    local: Target, tmp_path: Path
) -> None:
    dest = tmp_path / "app.conf"
    dest.write_bytes(OLD_CONFIG)
    args = {"dest": str(dest), "content": "garbage", "validate": "grep -q port= %s"}
    outcome = local.apply("config", args)
    assert not outcome.ok and "validation failed" in outcome.msg
    assert outcome.undo is None and outcome.data["changed"] is False
    assert dest.read_bytes() == OLD_CONFIG
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.conf", "drillctl-state"]
    assert list((tmp_path / "drillctl-state").rglob("*.*")) == []  # no staged file, no snapshot


def test_config_failing_in_place_validation_puts_the_old_file_back(
    local: Target, tmp_path: Path
) -> None:
    """Without %s the check sees the new file at dest (as `nginx -t` reads a whole config)."""
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    dest = conf_d / "app.conf"
    dest.write_bytes(OLD_CONFIG)
    dest.chmod(0o640)
    seen = tmp_path / "seen"
    check = f"cat {conf_d}/* > {seen}; grep -q '^port=' {dest}"
    args = {"dest": str(dest), "content": "garbage\n", "validate": check, "restart": "exit 9"}
    outcome = local.apply("config", args)
    assert not outcome.ok, outcome.msg
    assert "validation failed" in outcome.msg and "put back" in outcome.msg
    assert outcome.undo is None and outcome.data["changed"] is False
    assert seen.read_text() == "garbage\n"  # the check ran on the new file, alone in conf.d
    assert dest.read_bytes() == OLD_CONFIG and stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert [p.name for p in conf_d.iterdir()] == ["app.conf"]
    assert list((tmp_path / "drillctl-state").rglob("*.*")) == []

    good = local.apply("config", {**args, "content": "port=1\n", "restart": "true"})
    assert good.ok, good.msg
    assert dest.read_text() == "port=1\n" and seen.read_text() == "port=1\n"
    assert local.undo(good).ok
    assert dest.read_bytes() == OLD_CONFIG


def test_config_removal_that_fails_validation_is_put_back(local: Target, tmp_path: Path) -> None:
    dest = tmp_path / "needed.conf"
    dest.write_bytes(OLD_CONFIG)
    args = {"dest": str(dest), "state": "absent", "validate": f"test -e {dest}"}
    outcome = local.apply("config", args)
    assert not outcome.ok and "put back" in outcome.msg and outcome.undo is None
    assert dest.read_bytes() == OLD_CONFIG
    with pytest.raises(ActionArgError):
        ConfigAction().plan({**args, "validate": "check %s"}, LOCALHOST)
    removed = local.apply("config", {**args, "validate": f"test ! -e {dest}"})
    assert removed.ok and not dest.exists()
    assert local.undo(removed).ok and dest.read_bytes() == OLD_CONFIG


def test_config_same_content_changes_nothing(local: Target, tmp_path: Path) -> None:
    dest = tmp_path / "app.conf"
    dest.write_text("a=1\n")
    outcome = local.apply("config", {"dest": str(dest), "content": "a=1\n", "restart": "exit 1"})
    assert outcome.ok and outcome.data["changed"] is False and outcome.undo is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.conf", "drillctl-state"]
    assert list((tmp_path / "drillctl-state").rglob("*.*")) == []


def test_config_failed_restart_still_records_the_undo(local: Target, tmp_path: Path) -> None:
    dest = tmp_path / "app.conf"
    dest.write_text("a=1\n")
    restart = f"grep -q a=1 {dest} || exit 7"  # the service only starts with the old file
    args = {"dest": str(dest), "content": "a=2\n", "restart": restart}
    outcome = local.apply("config", args)
    assert not outcome.ok and "restart failed" in outcome.msg and outcome.rc == 7
    undone = local.undo(outcome)
    assert undone.ok, undone.msg
    assert dest.read_text() == "a=1\n"


# -- flag -----------------------------------------------------------------------------------


@dataclass
class FlagService:
    url: str
    flags: dict[str, Any]
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def flag_service() -> Iterator[FlagService]:
    """A tiny flag API on 127.0.0.1: GET/PUT /api/features/NAME with {"enabled": …}."""
    service = FlagService("", {"new-pricing": True})

    class Handler(BaseHTTPRequestHandler):
        def _name(self) -> str:
            return self.path.rsplit("/", 1)[-1]

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            service.requests.append(f"GET {self._name()}")
            if self._name() not in service.flags:
                self._answer(404, {"error": "no such feature"})
                return
            self._answer(200, {"name": self._name(), "enabled": service.flags[self._name()]})

        def do_PUT(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            service.requests.append(f"PUT {self._name()} {json.dumps(body)}")
            service.flags[self._name()] = body["enabled"]
            self._answer(200, {"name": self._name(), "enabled": body["enabled"]})

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}/api/features"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


def test_flag_over_http_reads_sets_and_the_undo_sets_the_old_value(
    local: Target, flag_service: FlagService
) -> None:
    ctl = Target(LOCALHOST, None)  # controller side: no connection
    deployed = ctl.apply("flag", {"url": f"{flag_service.url}/new-pricing", "value": False})
    assert deployed.ok, deployed.msg
    assert flag_service.flags["new-pricing"] is False
    assert flag_service.requests == [
        "GET new-pricing",
        'PUT new-pricing {"enabled": false}',
        "GET new-pricing",
    ]
    assert deployed.data["previous"] is True

    undone = ctl.undo(deployed)
    assert undone.ok, undone.msg
    assert flag_service.flags["new-pricing"] is True


def test_flag_that_cannot_be_read_is_not_changed(flag_service: FlagService) -> None:
    ctl = Target(LOCALHOST, None)
    outcome = ctl.apply("flag", {"url": f"{flag_service.url}/unknown", "value": True})
    assert not outcome.ok and "cannot read" in outcome.msg and "404" in outcome.msg
    assert outcome.undo is None
    assert flag_service.requests == ["GET unknown"]


def test_flag_in_a_json_file_and_the_undo_restores_the_file(local: Target, tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    doc = {"new_pricing": True, "limit": 5, "name": "café"}
    original = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    flags.write_bytes(original.encode())
    flags.chmod(0o640)
    deployed = local.apply("flag.file", {"file": str(flags), "name": "new_pricing", "value": False})
    assert deployed.ok, deployed.msg
    assert json.loads(flags.read_text()) == {"new_pricing": False, "limit": 5, "name": "café"}
    assert stat.S_IMODE(flags.stat().st_mode) == 0o640
    assert local.undo(deployed).ok
    assert flags.read_bytes() == original.encode()


def test_flag_in_a_key_value_file_and_the_undo_restores_the_file(
    local: Target, tmp_path: Path
) -> None:
    flags = tmp_path / "features.env"
    original = '# features\nexport NEW_PRICING="on"\nOTHER=1\r\nLAST=x'
    flags.write_bytes(original.encode())
    deployed = local.apply("flag.file", {"file": str(flags), "name": "NEW_PRICING", "value": False})
    assert deployed.ok, deployed.msg
    assert "export NEW_PRICING=false\n" in flags.read_bytes().decode()
    assert deployed.data["previous"] == '"on"'
    assert local.undo(deployed).ok
    assert flags.read_bytes().decode() == original

    added = local.apply("flag.file", {"file": str(flags), "name": "BETA", "value": "yes"})
    assert flags.read_bytes().decode().endswith("LAST=x\nBETA=yes\n")
    assert added.undo is not None and added.undo.args["state"] == "absent"
    assert local.undo(added).ok
    assert flags.read_bytes().decode() == original + "\n"


# -- migrate (SQLite) -----------------------------------------------------------------------

UP = "ALTER TABLE orders ADD COLUMN note TEXT;\nCREATE INDEX orders_note ON orders(note);"
DOWN = "DROP INDEX orders_note;\nALTER TABLE orders DROP COLUMN note;"
HAS_NOTE = "SELECT count(*) FROM pragma_table_info('orders') WHERE name = 'note'"
NO_NOTE = "SELECT count(*) = 0 FROM pragma_table_info('orders') WHERE name = 'note'"


def sqlite_state(db: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(schema from sqlite_master, every order row)."""
    with sqlite3.connect(db) as con:
        schema = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
        return list(schema), list(con.execute("SELECT * FROM orders ORDER BY id"))


@pytest.fixture
def orders_db(tmp_path: Path) -> Path:
    db = tmp_path / "orders.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL NOT NULL)")
        con.executemany("INSERT INTO orders VALUES (?, ?)", [(1, 9.5), (2, 20.0)])
    return db


@pytest.mark.parametrize("client", ["cli", "python"])
def test_migrate_sqlite_up_then_the_undo_runs_down(
    local: Target, orders_db: Path, tmp_path: Path, client: str
) -> None:
    before = sqlite_state(orders_db)
    up_file = tmp_path / "0042_note.up.sql"
    up_file.write_text(UP)
    args = {
        "engine": "sqlite",
        "database": str(orders_db),
        "up": str(up_file),
        "down": DOWN,
        "check": HAS_NOTE,
        "down_check": NO_NOTE,
        "client": client,
    }
    deployed = local.apply("migrate", args)
    assert deployed.ok, deployed.msg
    schema, rows = sqlite_state(orders_db)
    assert "orders_note" in [row[1] for row in schema]
    assert rows == [(1, 9.5, None), (2, 20.0, None)]
    backup = Path(deployed.data["backup"])
    assert sqlite_state(backup) == before  # a consistent copy taken before `up`
    assert deployed.undo is not None
    assert deployed.undo.args["down"] == DOWN and deployed.undo.args["backup_file"] == str(backup)

    undone = local.undo(deployed)
    assert undone.ok, undone.msg
    assert sqlite_state(orders_db) == before


def test_migrate_sqlite_failing_up_is_rolled_back_whole(local: Target, orders_db: Path) -> None:
    before = sqlite_state(orders_db)
    bad = "ALTER TABLE orders ADD COLUMN note TEXT;\nINSERT INTO nowhere VALUES (1);"
    outcome = local.apply("migrate", {"engine": "sqlite", "database": str(orders_db), "up": bad})
    assert not outcome.ok and "no such table: nowhere" in outcome.msg
    assert outcome.undo is None
    assert sqlite_state(orders_db) == before  # the first statement was rolled back too


@pytest.mark.parametrize("client", ["cli", "python"])
def test_migrate_sqlite_without_down_is_undone_by_restoring_the_backup(
    local: Target, orders_db: Path, client: str
) -> None:
    before = sqlite_state(orders_db)
    up = "DROP TABLE orders; CREATE TABLE orders (id TEXT PRIMARY KEY);"
    args = {"engine": "sqlite", "database": str(orders_db), "up": up, "client": client}
    deployed = local.apply("migrate", args)
    assert deployed.ok, deployed.msg
    assert sqlite_state(orders_db)[1] == []
    assert deployed.undo is not None and deployed.undo.args["restore_backup"] is True
    undone = local.undo(deployed)
    assert undone.ok, undone.msg
    assert sqlite_state(orders_db) == before
    assert undone.data["backup"]  # the undo backed up the state it replaced, too


def test_migrate_false_check_fails_but_keeps_the_undo(local: Target, orders_db: Path) -> None:
    args = {"engine": "sqlite", "database": str(orders_db), "up": UP, "down": DOWN}
    outcome = local.apply("migrate", {**args, "check": "SELECT 'f'"})
    assert not outcome.ok and "check is false" in outcome.msg
    assert local.undo(outcome).ok


# -- migrate (PostgreSQL) -------------------------------------------------------------------

PG_PASSWORD = "s3cret p@ss/word"


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 (password auth); yields its DSN."""
    with throwaway_postgres(PG_PASSWORD) as dsn:
        yield dsn


def psql(dsn: str, sql: str) -> str:
    bare, password = split_password(dsn)
    env = {**os.environ, "PGPASSWORD": password or ""}
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", bare, "-c", sql],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout


PG_SCHEMA = (
    "SELECT table_name, column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = 'public' ORDER BY 1, 2"
)


class RecordingConnection:
    """A local connection that keeps every command it was given."""

    def __init__(self) -> None:
        self.inner, self.specs = LocalConnection(), list[CommandSpec]()

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        self.specs.append(spec)
        return self.inner.run(spec, timeout=timeout, cancel=cancel)

    def put(self, local_path: str, remote_path: str) -> None:
        self.inner.put(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        self.inner.get(remote_path, local_path)

    def close(self) -> None:
        return None


def test_migrate_postgresql_up_then_down_and_restore(postgres: str, tmp_path: Path) -> None:
    psql(postgres, "DROP TABLE IF EXISTS orders, audit")
    psql(postgres, "CREATE TABLE orders (id int PRIMARY KEY, total numeric)")
    psql(postgres, "INSERT INTO orders VALUES (1, 9.5), (2, 20)")
    before = (psql(postgres, PG_SCHEMA), psql(postgres, "SELECT * FROM orders ORDER BY id"))
    conn = RecordingConnection()
    pg = Target(LOCALHOST, conn)
    args = {
        "engine": "postgresql",
        "database": postgres,
        "up": "ALTER TABLE orders ADD COLUMN note text;\nCREATE TABLE audit (id int)",
        "down": "DROP TABLE audit;\nALTER TABLE orders DROP COLUMN note",
        "check": "SELECT count(*) FROM information_schema.columns WHERE column_name = 'note'",
        "down_check": "SELECT count(*) = 0 FROM pg_tables WHERE tablename = 'audit'",
        "backup_dir": str(tmp_path),
    }
    deployed = pg.apply("migrate", args)
    assert deployed.ok, deployed.msg
    assert "orders|note|text" in psql(postgres, PG_SCHEMA)
    assert Path(deployed.data["backup"]).read_bytes().startswith(b"PGDMP")  # pg_dump -Fc
    # The password reached psql and pg_dump only through stdin, never a command line.
    assert conn.specs and all(PG_PASSWORD not in (s.shell or "") for s in conn.specs)
    assert all(PG_PASSWORD not in json.dumps(dict(s.env)) for s in conn.specs)
    assert any(PG_PASSWORD in (s.stdin or "") for s in conn.specs)
    assert PG_PASSWORD not in deployed.msg

    undone = pg.undo(deployed)
    assert undone.ok, undone.msg
    assert (psql(postgres, PG_SCHEMA), psql(postgres, "SELECT * FROM orders ORDER BY id")) == before

    # Deploy again, write after the backup, and restore the backup: the write is gone too.
    deployed = pg.apply("migrate", args)
    assert deployed.ok, deployed.msg
    psql(postgres, "INSERT INTO orders VALUES (3, 1, 'written after the backup')")
    assert deployed.undo is not None
    restore = {**deployed.undo.args, "restore_backup": True}
    restored = pg.apply("migrate", restore)
    assert restored.ok, restored.msg
    assert (psql(postgres, PG_SCHEMA), psql(postgres, "SELECT * FROM orders ORDER BY id")) == before


def pg_schema(dsn: str) -> str:
    """The whole schema as pg_dump prints it (without psql's per-dump \\restrict keys)."""
    bare, password = split_password(dsn)
    out = subprocess.run(
        ["pg_dump", "--schema-only", "-d", bare],
        env={**os.environ, "PGPASSWORD": password or ""},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return "\n".join(
        x for x in out.stdout.splitlines() if not x.startswith(("\\restrict", "\\unr"))
    )


BASELINE = """
SELECT lo_unlink(oid) FROM pg_largeobject_metadata;
DROP SCHEMA IF EXISTS billing, reports CASCADE;
DROP TABLE IF EXISTS orders, audit, customers CASCADE;
DROP VIEW IF EXISTS order_totals;
DROP TYPE IF EXISTS order_state;
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id),
                     total numeric NOT NULL);
CREATE VIEW order_totals AS SELECT customer_id, sum(total) AS total FROM orders GROUP BY 1;
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, order_id int REFERENCES public.orders (id));
INSERT INTO customers VALUES (1, 'ACME'), (2, 'Initech');
INSERT INTO orders VALUES (1, 1, 9.5), (2, 2, 20);
INSERT INTO billing.invoices VALUES (10, 1);
SELECT lo_from_bytea(424242, 'receipt 10');
"""
LARGE_OBJECTS = (
    "SELECT string_agg(oid::text || '=' || encode(lo_get(oid), 'escape'), ',' ORDER BY oid) "
    "FROM pg_largeobject_metadata"
)


def test_migrate_postgresql_restore_drops_what_up_added_with_foreign_keys_to_restored_tables(
    local: Target, postgres: str
) -> None:
    psql(postgres, BASELINE)
    rows = "SELECT * FROM orders ORDER BY id"
    before = (
        pg_schema(postgres),
        psql(postgres, rows),
        psql(postgres, "TABLE billing.invoices"),
        psql(postgres, LARGE_OBJECTS),
    )
    assert before[3] == "424242=receipt 10\n"
    up = """
        CREATE TYPE order_state AS ENUM ('new', 'paid');
        ALTER TABLE orders ADD COLUMN state order_state NOT NULL DEFAULT 'new';
        CREATE TABLE audit (id serial PRIMARY KEY, order_id int NOT NULL REFERENCES orders (id),
                            customer_id int REFERENCES customers (id));
        INSERT INTO audit (order_id, customer_id) VALUES (1, 1), (2, 2);
        CREATE SCHEMA reports;
        CREATE TABLE reports.daily (order_id int REFERENCES public.orders (id));
        CREATE FUNCTION audit_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM audit';
        SELECT lo_from_bytea(0, 'made by up');
    """
    args = {
        "engine": "postgresql",
        "database": postgres,
        "up": up,
        "check": "SELECT audit_count() = 2",
    }
    deployed = local.apply("migrate", args)
    assert deployed.ok, deployed.msg
    assert "audit|" in pg_schema(postgres).replace("TABLE public.audit", "audit|")
    backup = Path(deployed.data["backup"])
    assert backup.parent == Path(deployed.data["state_dir"])  # in the run's state, not /var/tmp
    assert deployed.undo is not None and deployed.undo.args["restore_backup"] is True
    psql(postgres, "INSERT INTO orders VALUES (3, 1, 1, 'paid')")  # written after the backup

    undone = local.undo(deployed)
    assert undone.ok, undone.msg
    after = (
        pg_schema(postgres),
        psql(postgres, rows),
        psql(postgres, "TABLE billing.invoices"),
        psql(postgres, LARGE_OBJECTS),
    )
    assert after == before
    assert psql(postgres, "SELECT to_regclass('audit'), to_regnamespace('reports')") == "|\n"


def test_migrate_postgresql_restore_that_fails_changes_nothing(
    local: Target, postgres: str, tmp_path: Path
) -> None:
    psql(postgres, BASELINE)
    deployed = local.apply(
        "migrate",
        {"engine": "postgresql", "database": postgres, "up": "CREATE TABLE audit (id int)"},
    )
    assert deployed.ok and deployed.undo is not None, deployed.msg
    changed = pg_schema(postgres)
    Path(deployed.data["backup"]).write_bytes(b"PGDMP not really a dump")
    undone = local.undo(deployed)
    assert not undone.ok and "restoring" in undone.msg
    assert pg_schema(postgres) == changed  # nothing dropped: one transaction, never reached


def test_dsn_password_is_split_off_for_pgpassword() -> None:
    assert split_password("postgresql://app:p%40ss@db:5432/orders") == (
        "postgresql://app@db:5432/orders",
        "p@ss",
    )
    assert split_password("host=db password='a b\\'c' dbname=x") == ("host=db dbname=x", "a b'c")
    assert split_password("postgresql://db/orders") == ("postgresql://db/orders", None)


# -- pip --------------------------------------------------------------------------------------

FAKE = "drillctl-fakedep"


def build_wheel(directory: Path, version: str) -> None:
    """A minimal pure-Python wheel of FAKE at `version` (no build backend, no network)."""
    module, dist = FAKE.replace("-", "_"), f"{FAKE.replace('-', '_')}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {FAKE}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: drillctl-tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip('=')},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    with zipfile.ZipFile(directory / f"{module}-{version}-py3-none-any.whl", "w") as whl:
        for path, data in files.items():
            whl.writestr(path, data)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a virtualenv with pip, a directory with FAKE 1.0 and 2.0 wheels)."""
    root = tmp_path_factory.mktemp("pip")
    wheels = root / "wheels"
    wheels.mkdir()
    for version in ("1.0", "2.0"):
        build_wheel(wheels, version)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    return root / "venv", wheels


def installed(venv_dir: Path) -> str:
    code = (
        "import importlib.metadata as m\n"
        f"try: print(m.version({FAKE!r}))\n"
        "except m.PackageNotFoundError: print('absent')"
    )
    out = subprocess.run([str(venv_dir / "bin/python"), "-c", code], capture_output=True, text=True)
    return out.stdout.strip()


def test_pip_pins_a_version_and_the_undo_pins_the_old_one_back(
    local: Target, venv: tuple[Path, Path]
) -> None:
    venv_dir, wheels = venv
    pin = {"venv": str(venv_dir), "name": FAKE, "find_links": str(wheels), "no_index": True}
    first = local.apply("pip", {**pin, "version": "1.0"})
    assert first.ok, first.msg
    assert installed(venv_dir) == "1.0"
    assert first.undo is not None and first.undo.args == {
        "venv": str(venv_dir),
        "name": FAKE,
        "state": "absent",
    }

    upgraded = local.apply("pip", {**pin, "version": "2.0"})
    assert upgraded.ok, upgraded.msg
    assert installed(venv_dir) == "2.0" and upgraded.data["previous"] == "1.0"
    assert local.undo(upgraded).ok
    assert installed(venv_dir) == "1.0"

    again = local.apply("pip", {**pin, "version": "1.0"})
    assert again.ok and again.data["changed"] is False and again.undo is None

    assert local.undo(first).ok
    assert installed(venv_dir) == "absent"


def test_pip_version_missing_from_the_wheels_fails_and_changes_nothing(
    local: Target, venv: tuple[Path, Path]
) -> None:
    venv_dir, wheels = venv
    args = {
        "venv": str(venv_dir),
        "name": FAKE,
        "version": "9.9",
        "find_links": str(wheels),
        "no_index": True,
    }
    before = installed(venv_dir)
    outcome = local.apply("pip", args)
    assert not outcome.ok and outcome.undo is None
    assert installed(venv_dir) == before


def test_pip_without_a_virtualenv_fails_clearly(local: Target, tmp_path: Path) -> None:
    outcome = local.apply("pip", {"venv": str(tmp_path / "nope"), "name": FAKE, "version": "1"})
    assert not outcome.ok and "no virtualenv" in outcome.msg


# -- docker.container -------------------------------------------------------------------------


def test_docker_image_swap_records_an_undo_to_the_previous_image_id(
    request: pytest.FixtureRequest,
) -> None:
    make: ContainerFactory = request.getfixturevalue("make_container")
    images: BusyboxImages = request.getfixturevalue("busybox_image")
    engine: Any = request.getfixturevalue("docker_engine")
    container = make()
    host = Host("gw", "gw", "docker", None, None, {"container": container.name}, ())
    ctl = Target(host, None)  # controller side: no connection
    deployed = ctl.apply("docker.container", {"image": images.v2})
    assert deployed.ok, deployed.msg
    assert deployed.undo is not None
    assert dict(deployed.undo.args) == {"name": container.name, "image": images.v1_id}
    undone = ctl.undo(deployed)
    assert undone.ok, undone.msg
    assert engine.api.inspect_container(container.name)["Image"] == images.v1_id
    assert ctl.apply("docker.container", {"state": "started"}).undo is None


def test_release_and_config_work_in_a_busybox_container(request: pytest.FixtureRequest) -> None:
    make: ContainerFactory = request.getfixturevalue("make_container")
    container = make()
    host = Host("app", "app", "docker", None, None, {"container": container.name}, ())
    box = Target(host, DockerConnection(host))

    def sh(script: str) -> str:
        assert box.conn is not None
        result = box.conn.run(CommandSpec(shell=script), timeout=30, cancel=CancelToken())
        assert result.rc == 0, result.stderr
        return result.stdout

    sh("mkdir -p /opt/app/releases/1 /opt/app/releases/2 /etc/app")
    assert box.apply("release", {"path": "/opt/app", "version": "1"}).ok
    deployed = box.apply("release", {"path": "/opt/app", "version": "2"})
    assert deployed.ok, deployed.msg
    assert sh("readlink /opt/app/current") == "/opt/app/releases/2\n"
    assert box.undo(deployed).ok
    assert sh("readlink /opt/app/current") == "/opt/app/releases/1\n"

    sh("printf 'old\\r\\n' > /etc/app/app.conf; chmod 600 /etc/app/app.conf")
    for content in ("new\n", "x" * (400 * 1024)):  # base64 on stdin, then put_archive
        deployed = box.apply("config", {"dest": "/etc/app/app.conf", "content": content})
        assert deployed.ok, deployed.msg
        assert sh("wc -c < /etc/app/app.conf").strip() == str(len(content))
        assert box.undo(deployed).ok
        assert sh("od -c /etc/app/app.conf; stat -c %a /etc/app/app.conf") == (
            "0000000   o   l   d  \\r  \\n\n0000005\n600\n"
        )
