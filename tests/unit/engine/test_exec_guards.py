"""`drillctl exec`'s guards, in process: an inventory is required, production needs its
flags, every inventory source is locked (once) while the command runs and freed after, and
a lock someone else holds stops it before anything runs.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

import runner.connections.pool
from runner.engine import adhoc as adhoc_mod
from runner.engine.adhoc import ExecRequest, exec_guarded
from runner.engine.lock import InventoryLock, is_held, lock_location, read_holder
from runner.engine.safety import Permissions
from runner.errors import ExitCode, InputError, TargetEnvironmentError
from runner.inventory.defaults import ConnectionDefaults
from tests.fakes.connection import Call, FakeTarget


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeTarget:
    """The fake target behind every connection exec opens; locks in this test's directory."""
    fake = FakeTarget()
    monkeypatch.setattr(runner.connections.pool, "default_factories", fake.factories)
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(tmp_path / "locks"))
    return fake


def inventory(tmp_path: Path, name: str, hosts: str, env: str = "staging") -> str:
    path = tmp_path / name
    path.write_text(f"all:\n  vars: {{environment: {env}}}\n  hosts:\n{hosts}")
    return str(path)


WEB = "    web1: {connection: local}\n    web2: {connection: local}\n"
DB = "    db1: {connection: local}\n"


def test_exec_needs_an_inventory(target: FakeTarget) -> None:
    with pytest.raises(InputError) as caught:
        exec_guarded(ExecRequest((), "all", "ok x"))
    assert str(caught.value) == "<command line>:1:1: exec needs an inventory: give -i INV"
    assert target.names() == []


def test_exec_holds_the_lock_of_every_source_while_the_command_runs(
    target: FakeTarget, tmp_path: Path
) -> None:
    web, db = inventory(tmp_path, "web.yml", WEB), inventory(tmp_path, "db.yml", DB)
    locks = [lock_location(web).lock, lock_location(db).lock]
    seen: list[tuple[bool, dict[str, Any] | None]] = []

    def during(call: Call) -> None:
        seen.extend((is_held(lock), read_holder(lock)) for lock in locks)

    target.on("x", during)
    out = io.StringIO()
    code = exec_guarded(ExecRequest((web, db, web), "web1", "ok x", operator="carol"), out=out)
    assert code == ExitCode.PASSED
    assert target.snapshot() == [("web1", "ok", "x")]
    assert "web1" in out.getvalue()
    assert [held for held, _ in seen] == [True, True]
    for (_, record), source in zip(seen, (web, db), strict=True):
        assert record is not None
        assert (record["operator"], record["command"]) == ("carol", "exec")
        assert (record["pid"], record["run_id"]) == (os.getpid(), f"exec-{os.getpid()}")
        assert record["inventory"] == str(Path(source).resolve())
    assert [is_held(lock) for lock in locks] == [False, False]  # freed after


def test_exec_frees_its_locks_when_the_command_fails(target: FakeTarget, tmp_path: Path) -> None:
    web = inventory(tmp_path, "web.yml", WEB)
    assert exec_guarded(ExecRequest((web,), "all", "fail x")) == ExitCode.FAILED
    assert not is_held(lock_location(web).lock)


def test_a_lock_someone_holds_stops_exec_before_anything_runs(
    target: FakeTarget, tmp_path: Path
) -> None:
    web, db = inventory(tmp_path, "web.yml", WEB), inventory(tmp_path, "db.yml", DB)
    drill = InventoryLock(db, "r-7", "dave")
    drill.acquire()
    try:
        with pytest.raises(TargetEnvironmentError) as caught:
            exec_guarded(ExecRequest((web, db), "all", "ok x"))
        assert "another drill holds the lock on" in str(caught.value)
        assert "dave (pid" in str(caught.value)
        assert target.names() == []
        assert not is_held(lock_location(web).lock)  # the lock it took first is freed
        assert is_held(lock_location(db).lock)  # the other holder's is left alone
    finally:
        drill.release()


def test_a_production_host_needs_both_flags_and_nothing_is_locked_before(
    target: FakeTarget, tmp_path: Path
) -> None:
    prod = inventory(tmp_path, "prod.yml", DB, env="production")
    with pytest.raises(InputError) as caught:
        exec_guarded(ExecRequest((prod,), "all", "ok x"))
    assert "touching it needs --allow-production and --change-id" in str(caught.value)
    assert target.names() == []
    assert not lock_location(prod).lock.exists()
    allowed = Permissions(allow_production=True, change_id="CHG-1")
    assert exec_guarded(ExecRequest((prod,), "all", "ok x", permissions=allowed)) == 0
    assert target.names() == ["ok x"]


def test_exec_runs_the_pattern_within_the_limit_with_the_given_settings(
    target: FakeTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssh = "    web1: {}\n    web2: {}\n    db1: {}\n"  # SSH hosts: -u applies to them
    web, db = inventory(tmp_path, "web.yml", ssh), inventory(tmp_path, "db.yml", "    db1: {}\n")
    calls: list[dict[str, Any]] = []

    def fake_run(hosts: list[Any], command: str, **kw: Any) -> int:
        calls.append({"hosts": hosts, "command": command, **kw})
        return 1

    monkeypatch.setattr(adhoc_mod, "run_adhoc", fake_run)
    out = io.StringIO()
    request = ExecRequest(
        (web, db),
        "web*:db1",
        "ok x",
        limit="web2:db1",
        forks=3,
        timeout=7.5,
        defaults=ConnectionDefaults(user="deploy"),
    )
    assert exec_guarded(request, out=out) == 1
    [call] = calls
    assert sorted(h.name for h in call["hosts"]) == ["db1", "web2"]
    assert {h.user for h in call["hosts"]} == {"deploy"}
    assert (call["command"], call["forks"], call["timeout"], call["out"]) == ("ok x", 3, 7.5, out)
