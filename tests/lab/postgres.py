"""A throwaway PostgreSQL server for tests: initdb + pg_ctl on 127.0.0.1, removed after."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port

TOOLS = ("initdb", "pg_ctl", "psql", "pg_dump", "pg_restore")


def unavailable(message: str) -> None:
    """Under CI=true a missing service is a failure, never a silent skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def add_debian_bin_dirs() -> None:
    """Debian keeps initdb and pg_ctl in /usr/lib/postgresql/<version>/bin, off PATH."""
    for bin_dir in sorted(Path("/usr/lib/postgresql").glob("*/bin")):
        if str(bin_dir) not in os.environ["PATH"].split(os.pathsep):
            os.environ["PATH"] += os.pathsep + str(bin_dir)


@contextmanager
def throwaway_postgres(password: str) -> Iterator[str]:
    """Start a server (password auth, fsync off); yield its URL with the password in it."""
    add_debian_bin_dirs()
    if not all(shutil.which(t) for t in TOOLS):
        unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    as_postgres: list[str] = []
    # initdb refuses root; and root's pytest temp dirs (0700) are closed to `postgres`.
    root = Path(tempfile.mkdtemp(prefix="drillctl-pg-"))
    if os.geteuid() == 0:
        as_postgres = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    (root / "pw").write_text(password)
    data, port = root / "data", free_port()
    pg_ctl = [*as_postgres, "pg_ctl", "-D", str(data), "-l", str(root / "log"), "-w"]
    try:
        subprocess.run(
            [*as_postgres, "initdb", "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
             f"--pwfile={root / 'pw'}", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run([*pg_ctl, "-o", options, "start"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"cannot start PostgreSQL: {exc}")
    try:
        quoted = urllib.parse.quote(password, safe="")
        yield f"postgresql://postgres:{quoted}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
