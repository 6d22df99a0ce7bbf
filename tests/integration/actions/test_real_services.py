"""`config` and `migrate` drills against real nginx and PostgreSQL from Debian.

Each test starts its own server on 127.0.0.1 (own prefix, data directory and port; never the
system service), runs `drillctl run` as a user would, and checks the target afterwards:
what is served, the exact bytes or schema, and that no snapshot or backup was left where a
glob loads it or after the run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runner.actions.database import split_password
from tests.conftest import events, free_port, run_drillctl
from tests.lab.postgres import throwaway_postgres, unavailable

pytestmark = pytest.mark.integration


# -- nginx ---------------------------------------------------------------------------------

NGINX_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/sites-enabled/*;
}}
"""
WORKER = "nginx: worker process"  # its title; an old one draining adds "is shutting down"
SITE = 'server {{\n    listen 127.0.0.1:{port};\n    location / {{ return 200 "{body}\\n"; }}\n}}\n'


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        unavailable("nginx is not installed (apt-get install nginx)")
    return found


@dataclass
class Nginx:
    prefix: Path
    port: int
    binary: str

    @property
    def site(self) -> Path:
        return self.prefix / "sites-enabled" / "site.conf"

    @property
    def command(self) -> str:
        """The nginx command line for this instance (its own prefix, config and error log)."""
        p = self.prefix
        return f"{self.binary} -p {p} -c {p}/nginx.conf -e {p}/error.log"

    def get(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2) as resp:
                return str(resp.read().decode().strip())
        except (urllib.error.URLError, OSError) as exc:
            return f"error: {exc}"

    def master(self) -> int:
        return int((self.prefix / "nginx.pid").read_text())

    def workers(self) -> dict[int, str]:
        """This instance's worker processes, its master's children in /proc, with their
        titles (`nginx: worker process`, `... is shutting down` while an old one drains)."""
        master = self.master()
        found = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
                title = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue  # gone while we looked
            if int(ppid) == master and state not in ("Z", "X"):
                found[int(stat.parent.name)] = title.replace(b"\0", b" ").decode().strip()
        return found

    def master_idle(self) -> bool:
        """The master waits for signals with none pending: a reload it was sent is handled
        (its new workers started, the old ones told to finish)."""
        status = Path(f"/proc/{self.master()}/status").read_text()
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        pending = int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)
        return fields["State"].startswith("S") and not pending

    def reloaded(self, timeout: float = 10) -> None:
        """Wait until the last reload has taken effect everywhere: `nginx -s reload` only
        signals the master, which starts workers with the new configuration and tells the
        old ones to finish; until they exit, old and new workers answer on the port."""
        deadline = time.monotonic() + timeout
        while not self.master_idle() or list(self.workers().values()) != [WORKER]:
            assert time.monotonic() < deadline, f"nginx's reload never completed: {self.workers()}"
            time.sleep(0.05)

    def loaded_files(self) -> list[str]:
        """The files `nginx -T` says the configuration is made of."""
        out = subprocess.run(
            [*self.command.split(), "-T", "-q"], capture_output=True, text=True, check=True
        )
        mark = "# configuration file "
        return [
            line[len(mark) :].rstrip(":")
            for line in out.stdout.splitlines()
            if line.startswith(mark)
        ]


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    """An nginx of our own on a free 127.0.0.1 port serving a site that answers `v1`."""
    server = Nginx(tmp_path / "nginx", free_port(), nginx_binary())
    (server.prefix / "sites-enabled").mkdir(parents=True)
    (server.prefix / "tmp").mkdir()
    (server.prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=server.prefix))
    server.site.write_text(SITE.format(port=server.port, body="v1"))
    subprocess.run(server.command.split(), check=True, capture_output=True)
    pid_file = server.prefix / "nginx.pid"
    try:
        deadline = time.monotonic() + 10
        while server.get() != "v1":
            assert time.monotonic() < deadline, f"nginx did not start: {server.get()}"
            time.sleep(0.05)
        yield server
    finally:
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        if pid is not None:
            os.kill(pid, signal.SIGQUIT)  # graceful stop of the master and its workers
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.05)
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)


@dataclass
class Watch:
    """What a thread saw while a drill ran: directory entries and answers, as often as it can."""

    names: set[str] = field(default_factory=set)
    answers: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def watching(server: Nginx) -> tuple[Watch, threading.Thread]:
    watch = Watch()

    def run() -> None:
        while not watch.stop.wait(0.001):
            watch.names.update(os.listdir(server.site.parent))
            answer = server.get()
            if not watch.answers or watch.answers[-1] != answer:
                watch.answers.append(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return watch, thread


def inventory(tmp_path: Path, **host_vars: Any) -> Path:
    path = tmp_path / "inventory.yml"
    state = tmp_path / "drillctl-state"
    web = {"connection": "local", "address": "127.0.0.1", "drillctl_state_dir": str(state)}
    path.write_text(json.dumps({"all": {"hosts": {"web": {**web, **host_vars}}}}))
    return path


NGINX_DRILL = """\
drill: nginx site config rollback
component: nginx
rollback_type: 1
hosts: web
vars:
  nginx: "{command}"
  url: "http://127.0.0.1:{port}/"
prepare:
  - name: the original site is served
    http: {{url: "{{{{ url }}}}", contains: v1}}
deploy:
  - name: template the new site into sites-enabled, check the whole configuration, reload
    config:
      dest: {site}
      src: {template}
      validate: "{{{{ nginx }}}} -t -q"
      restart: "{{{{ nginx }}}} -s reload"
  - name: the new site answers
    wait_for: {{http: {{url: "{{{{ url }}}}", contains: "{{{{ body }}}}"}}, timeout: 10s}}
  - name: what nginx loads with the new site in place
    command: "{{{{ nginx }}}} -T -q"
    register: loaded
  - name: only nginx.conf and site.conf, no snapshot
    assert:
      that: loaded.stdout.count('# configuration file ') == 2
rollback: auto
verify:
  - name: the original site is served again
    wait_for: {{http: {{url: "{{{{ url }}}}", contains: v1}}, timeout: 10s}}
"""


def run_nginx_drill(server: Nginx, tmp_path: Path, body: str, name: str) -> tuple[Path, Watch]:
    template = tmp_path / "site.conf.j2"
    # A typo nginx refuses (`retrun`) when the change is meant to be bad.
    directive = "retrun" if body == "broken" else "return"
    template.write_text(
        "server {\n    listen 127.0.0.1:" + str(server.port) + ";\n"
        "    location / { " + directive + ' 200 "{{ body }}\\n"; }\n}\n'
    )
    playbook = tmp_path / f"{name}.yml"
    playbook.write_text(
        NGINX_DRILL.format(
            command=server.command, port=server.port, site=server.site, template=template
        )
    )
    out = tmp_path / name
    watch, thread = watching(server)
    try:
        proc = run_drillctl(
            "run", str(playbook), "-i", str(inventory(tmp_path)), "-e", f"body={body}",
            "--out", str(out),
        )  # fmt: skip
        # What nginx serves once the drill's last reload is through: the verify step passed
        # at the first answer of the new workers, while old ones may still be answering.
        server.reloaded()
    finally:
        watch.stop.set()
        thread.join()
    # An answer the watcher had asked for before the old workers were gone is not the last.
    if (answer := server.get()) != watch.answers[-1]:
        watch.answers.append(answer)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return out, watch


def host_results(run_dir: Path, step: str) -> list[dict[str, Any]]:
    return [e for e in events(run_dir) if e["event"] == "host_result" and e["step"] == step]


PLACE = "template the new site into sites-enabled, check the whole configuration, reload"


def no_snapshot_ever(watch: Watch) -> None:
    """sites-enabled only held site.conf, and for an instant the hidden copy renamed over it."""
    others = {n for n in watch.names if n != "site.conf"}
    assert all(n.startswith(".site.conf.drillctl-") for n in others), others


def test_nginx_config_that_fails_validation_fails_its_step_and_the_old_site_stays_served(
    nginx: Nginx, tmp_path: Path
) -> None:
    original = nginx.site.read_bytes()
    run_dir, watch = run_nginx_drill(nginx, tmp_path, "broken", "bad-change")

    [placed] = host_results(run_dir, PLACE)
    assert placed["status"] == "failed", placed
    assert "validation failed" in placed["msg"] and "put back" in placed["msg"]
    assert "unknown directive" in placed["stderr"]  # nginx -t said why
    assert not [e for e in events(run_dir) if e["event"] == "undo_recorded"]
    result = json.loads((run_dir / "result.json").read_text())
    deploy = [s for s in result["steps"] if s["name"] == PLACE]
    assert [s["status"] for s in deploy] == ["failed"]
    assert nginx.site.read_bytes() == original
    assert watch.answers == ["v1"]  # never anything but the original site
    no_snapshot_ever(watch)
    assert nginx.loaded_files() == [f"{nginx.prefix}/nginx.conf", str(nginx.site)]
    assert not (tmp_path / "drillctl-state").exists() or not any(
        (tmp_path / "drillctl-state").rglob("*.*")
    )


def test_nginx_good_change_is_rolled_back_to_the_old_bytes_without_a_snapshot_in_sites_enabled(
    nginx: Nginx, tmp_path: Path
) -> None:
    original = nginx.site.read_bytes()
    run_dir, watch = run_nginx_drill(nginx, tmp_path, "v2", "good-change")

    result = json.loads((run_dir / "result.json").read_text())
    assert result["status"] == "passed", result["reason"]
    [placed] = host_results(run_dir, PLACE)
    assert placed["status"] == "ok", placed
    [undo] = [e for e in events(run_dir) if e["event"] == "undo_recorded"]
    snapshot = Path(undo["args"]["restore"])
    state = tmp_path / "drillctl-state" / result["run_id"] / "web"
    assert snapshot.parent == state  # in the run's state, not beside the site
    assert nginx.site.read_bytes() == original
    assert "v2" in watch.answers and watch.answers[-1] == "v1"
    no_snapshot_ever(watch)
    assert nginx.loaded_files() == [f"{nginx.prefix}/nginx.conf", str(nginx.site)]
    # Rolled back and verified: the snapshot is gone, and so is the run's state directory.
    assert not snapshot.exists() and not state.parent.exists()
    assert [e["host"] for e in events(run_dir) if e["event"] == "run_state_removed"] == ["web"]


# -- PostgreSQL ------------------------------------------------------------------------------

PG_PASSWORD = "drill p@ss/word"
PG_DRILL = """\
drill: orders schema restore from backup
component: orders-db
rollback_type: 3
hosts: web
secrets: [dsn]
vars:
  # A failing pg_dump fails the step (no pipe to hide its exit code).
  dump: >-
    d=$(pg_dump --schema-only -d {{{{ dsn | quote }}}}) && printf '%s\\n' "$d" | grep -v '^\\\\'
  rows: "psql -X -A -t -d {{{{ dsn | quote }}}} -c 'TABLE orders ORDER BY id'"
prepare:
  - name: the schema before the change
    shell: "{{{{ dump }}}}"
    register: schema_before
  - name: the rows before the change
    shell: "{{{{ rows }}}}"
    register: rows_before
deploy:
  - name: migrate up (no down script; the backup is the way back)
    migrate:
      engine: postgresql
      database: "{{{{ dsn }}}}"
      up: |
        ALTER TABLE orders ADD COLUMN note text;
        CREATE TABLE order_audit (id serial PRIMARY KEY,
                                  order_id int NOT NULL REFERENCES orders (id),
                                  customer_id int NOT NULL REFERENCES customers (id));
        INSERT INTO order_audit (order_id, customer_id) SELECT id, customer_id FROM orders;
      check: SELECT count(*) = 2 FROM order_audit
  - name: the new release's consistency check fails
    shell: "exit 1"
rollback: auto
verify:
  - name: the schema after the rollback
    shell: "{{{{ dump }}}}"
    register: schema_after
  - name: the schema equals the original
    assert:
      that:
        - "'CREATE TABLE public.orders' in schema_before.stdout"
        - schema_after.stdout == schema_before.stdout
  - name: the rows after the rollback
    shell: "{{{{ rows }}}}"
    register: rows_after
  - name: the rows equal the original
    assert:
      that: rows_after.stdout == rows_before.stdout and rows_before.stdout_lines | length == 2
"""


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with throwaway_postgres(PG_PASSWORD) as dsn:
        yield dsn


def psql(dsn: str, sql: str) -> str:
    bare, password = split_password(dsn)
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", bare, "-c", sql],
        env={**os.environ, "PGPASSWORD": password or ""}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return out.stdout


def test_migrate_drill_restores_the_backup_over_a_table_with_foreign_keys_to_it(
    postgres: str, tmp_path: Path
) -> None:
    psql(postgres, "DROP TABLE IF EXISTS order_audit, orders, customers CASCADE")
    psql(postgres, "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)")
    psql(
        postgres,
        "CREATE TABLE orders (id int PRIMARY KEY, "
        "customer_id int NOT NULL REFERENCES customers (id), total numeric NOT NULL)",
    )
    psql(
        postgres, "INSERT INTO customers VALUES (1, 'ACME'); INSERT INTO orders VALUES (1, 1, 9.5)"
    )
    psql(postgres, "INSERT INTO orders VALUES (2, 1, 20)")
    tables = (
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
        "WHERE schemaname = 'public'"
    )
    playbook = tmp_path / "schema.yml"
    playbook.write_text(PG_DRILL.format())
    out = tmp_path / "run"
    proc = run_drillctl(
        "run", str(playbook), "-i", str(inventory(tmp_path)), "-e", f"dsn={postgres}",
        "--out", str(out),
    )  # fmt: skip

    result = json.loads((out / "result.json").read_text())
    assert proc.returncode == 0 and result["status"] == "passed", proc.stdout + proc.stderr
    undo = [e for e in events(out) if e["event"] == "undo_recorded"]
    assert [u["args"]["restore_backup"] for u in undo] == [True]
    assert psql(postgres, tables) == "customers,orders\n"  # order_audit is gone
    # The backup lived in the run's state directory, removed after the verified rollback.
    assert not (tmp_path / "drillctl-state" / result["run_id"]).exists()
    assert PG_PASSWORD not in (out / "journal.jsonl").read_text()
