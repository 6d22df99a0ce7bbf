"""Shell fault kinds against real targets: inject, observe from outside, revert, observe again.

Every plan is round-tripped through JSON first, as the journal keeps it: revert must work
from the plan alone. The SSH lab's hosts are sshd processes on this machine, so what a fault
does "on" 127.0.0.3 is visible here in /proc.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.connections.pool import ConnectionPool
from runner.faults.base import Fault, FaultArgError, FaultContext, FaultOp, FaultPlan
from runner.faults.files import FileCorrupt, FileMutate
from runner.faults.ops import run_op
from runner.faults.process import ProcessKill, ProcessPause
from runner.faults.resources import DiskFill, ResourceCpu, ResourceMemory
from runner.faults.service import ServiceStop
from runner.inventory import implicit_localhost, load_inventory
from runner.inventory.model import Host
from runner.lab.ssh_lab import SshLab
from tests.lab.docker_lab import ContainerFactory, busybox_image, docker_engine, make_container

pytestmark = pytest.mark.integration
__all__ = ["busybox_image", "docker_engine", "make_container"]  # fixtures, imported for use

# -- targets and plans --------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[ConnectionPool]:
    pool = ConnectionPool()
    yield pool
    pool.close_all()


@pytest.fixture
def ssh(ssh_hosts: SshLab) -> Host:
    return load_inventory(ssh_hosts.inventory).hosts["127.0.0.3"]


@pytest.fixture
def local() -> Host:
    return implicit_localhost().hosts["localhost"]


def plan(fault: Fault, args: dict[str, Any], host: Host) -> FaultPlan:
    """Plan with a fresh token, then keep only what the journal keeps."""
    planned = fault.plan(args, host, FaultContext(f"t{uuid.uuid4().hex[:12]}", "/tmp"))
    return FaultPlan.from_json(json.loads(json.dumps(planned.to_json())))


def run(ops: tuple[FaultOp, ...] | FaultOp | None, host: Host, pool: ConnectionPool) -> None:
    """Run operations that must succeed."""
    assert ops is not None
    for op in ops if isinstance(ops, tuple) else (ops,):
        result = run_op(op, host, pool)
        assert result.rc == 0, f"rc {result.rc}: {result.stderr}{result.stdout}\n{op.script}"


def in_effect(p: FaultPlan, host: Host, pool: ConnectionPool) -> bool:
    assert p.check is not None
    return run_op(p.check, host, pool).rc == 0


def lifecycle(
    p: FaultPlan,
    host: Host,
    pool: ConnectionPool,
    during: Callable[[], None],
    after: Callable[[], None],
) -> None:
    """Inject; the effect is seen and `check` agrees; revert; the target is as before and
    `check` agrees; a second revert changes nothing."""
    if p.precheck is not None:
        run(p.precheck, host, pool)
    run(p.inject, host, pool)
    during()
    assert in_effect(p, host, pool)
    run(p.revert, host, pool)
    after()
    assert not in_effect(p, host, pool)
    run(p.revert, host, pool)
    after()


# -- processes, seen from outside through /proc ---------------------------------------------


def state(pid: int) -> str | None:
    """The process state letter; None once it is gone (a zombie is gone)."""
    try:
        letter = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return None
    return None if letter in "ZXx" else letter


def argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def pids_with_arg(arg: str) -> list[int]:
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    return [p for p in pids if arg in argv(p) and state(p) is not None]


def started_by(p: FaultPlan) -> list[int]:
    """Live processes a fault started: those carrying its token in their environment."""
    token = p.inject[0].script.splitlines()[0].split()[-1]
    marks = {f"DRILLCTL_FAULT={token}".encode(), f"DRILLCTL_WATCHDOG={token}".encode()}
    found = []
    for pid in (int(d) for d in os.listdir("/proc") if d.isdigit()):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marks & set(env) and state(pid) is not None:
            found.append(pid)
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def victim() -> Iterator[str]:
    """A `sleep` with a unique argument (the argument is the name tests match it by)."""
    tag = f"3000.{random.randrange(10**9):09d}"
    proc = subprocess.Popen(["sleep", tag])
    assert wait_until(lambda: pids_with_arg(tag) == [proc.pid])
    yield tag
    for pid in pids_with_arg(tag):  # the original or whatever a revert restarted
        os.kill(pid, 9)
    proc.kill()
    proc.wait()


def pattern(tag: str) -> str:
    return f"^sleep {tag.replace('.', '[.]')}$"


# -- process.kill ---------------------------------------------------------------------------


def test_kill_by_pattern_kills_it_and_revert_restarts_it_once(
    victim: str, ssh: Host, pool: ConnectionPool
) -> None:
    [before] = pids_with_arg(victim)
    p = plan(ProcessKill(), {"pattern": pattern(victim), "restart": f"sleep {victim} &"}, ssh)

    def killed() -> None:
        assert state(before) is None

    def restarted_once() -> None:
        [again] = pids_with_arg(victim)
        assert again != before and state(again) in ("S", "R")

    lifecycle(p, ssh, pool, killed, restarted_once)
    assert p.manual.endswith(f"sleep {victim} &")


def test_kill_by_name_with_term(tmp_path: Path, local: Host, pool: ConnectionPool) -> None:
    name = f"drl{uuid.uuid4().hex[:8]}"  # comm holds at most 15 characters
    binary = tmp_path / name
    shutil.copy(shutil.which("sleep") or "/bin/sleep", binary)
    proc = subprocess.Popen([str(binary), "300"])
    p = plan(ProcessKill(), {"name": name, "signal": "TERM", "restart": f"{binary} 300 &"}, local)

    def killed() -> None:
        assert proc.wait(5) == -15

    def restarted_once() -> None:
        assert len(pids_with_arg(str(binary))) == 1

    try:
        lifecycle(p, local, pool, killed, restarted_once)
    finally:
        for pid in pids_with_arg(str(binary)):
            os.kill(pid, 9)
        proc.kill()


def test_kill_by_pidfile_that_finds_nothing_never_runs_restart(
    tmp_path: Path, ssh: Host, pool: ConnectionPool
) -> None:
    pidfile, marker = tmp_path / "app.pid", tmp_path / "restarted"
    pidfile.write_text("999999999\n")  # no such process
    p = plan(ProcessKill(), {"pidfile": str(pidfile), "restart": f"touch {marker}"}, ssh)
    result = run_op(p.inject[0], ssh, pool)
    assert result.rc == 1 and "nothing to kill" in result.stderr
    run(p.revert, ssh, pool)  # the engine reverts after a failed inject too
    assert not marker.exists()  # a process that was down before the drill stays down


def test_kill_without_restart_and_nul_bytes_are_refused(local: Host) -> None:
    ctx = FaultContext("t", "/tmp")
    with pytest.raises(FaultArgError, match="restart"):
        ProcessKill().plan({"name": "nginx"}, local, ctx)
    with pytest.raises(FaultArgError, match="NUL"):
        FileCorrupt().plan({"path": "/tmp/x", "mode": "append", "text": "\0"}, local, ctx)


# -- process.pause --------------------------------------------------------------------------


def test_pause_stops_exactly_those_pids_and_resumes_them(
    victim: str, ssh: Host, pool: ConnectionPool
) -> None:
    [pid] = pids_with_arg(victim)
    p = plan(ProcessPause(), {"pattern": pattern(victim)}, ssh)

    def stopped() -> None:
        assert state(pid) == "T"
        assert started_by(p) != []  # the watchdog that resumes it should drillctl die

    def running_without_watchdog() -> None:
        # Resumed: sleeping again, or still runnable on a busy machine (R), never stopped.
        assert state(pid) in ("S", "R") and started_by(p) == []

    lifecycle(p, ssh, pool, stopped, running_without_watchdog)


def test_pause_failsafe_resumes_even_if_drillctl_never_reverts(
    victim: str, local: Host, pool: ConnectionPool
) -> None:
    [pid] = pids_with_arg(victim)
    p = plan(ProcessPause(), {"pattern": pattern(victim), "failsafe": "1s"}, local)
    run(p.inject, local, pool)
    assert state(pid) == "T"
    assert wait_until(lambda: state(pid) == "S" and not started_by(p), timeout=5)
    assert not in_effect(p, local, pool)
    run(p.revert, local, pool)


# -- service.stop ---------------------------------------------------------------------------


def test_service_stop_with_commands_stops_and_starts_it(
    victim: str, tmp_path: Path, ssh: Host, pool: ConnectionPool
) -> None:
    pidfile = tmp_path / "svc.pid"
    pidfile.write_text(f"{pids_with_arg(victim)[0]}\n")
    args = {
        "stop": f"kill $(cat {pidfile})",
        "start": f"sleep {victim} & echo $! > {pidfile}",
        "status": f"p=$(cat {pidfile}) && ! grep -q '^State:[[:space:]]*Z' /proc/$p/status",
    }
    p = plan(ServiceStop(), args, ssh)

    def stopped() -> None:
        assert pids_with_arg(victim) == []

    def started_once() -> None:
        assert pids_with_arg(victim) == [int(pidfile.read_text())]

    lifecycle(p, ssh, pool, stopped, started_once)


def test_service_stop_by_systemd_name_plans_systemctl(local: Host) -> None:
    p = ServiceStop().plan({"name": "order-gateway"}, local, FaultContext("t1", "/tmp"))
    assert "systemctl stop -- order-gateway" in p.inject[0].script
    assert p.manual == "systemctl start -- order-gateway"
    assert p.precheck is not None and "systemctl cat" in p.precheck.script


# -- resource.cpu, resource.memory, disk.fill -----------------------------------------------


def recorded(p: FaultPlan) -> list[int]:
    """The pids in the fault's pidfile on the target."""
    line = next(x for x in p.revert[0].script.splitlines() if x.startswith("pids="))
    pidfile = Path(line[5:].strip("'"))
    return [int(x) for x in pidfile.read_text().split()] if pidfile.exists() else []


def children(pid: int) -> list[int]:
    found = []
    for child in (int(d) for d in os.listdir("/proc") if d.isdigit()):
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and state(child) is not None:
            found.append(child)
    return found


def test_cpu_burners_burn_and_revert_kills_exactly_them(ssh: Host, pool: ConnectionPool) -> None:
    p = plan(ResourceCpu(), {"workers": 2, "duration": "30s", "method": "shell"}, ssh)
    burners: list[int] = []

    def burning() -> None:
        burners.extend(recorded(p))
        assert len(burners) == 2 and set(burners) <= set(started_by(p))
        ticks = [cpu_ticks(pid) for pid in burners]
        time.sleep(0.3)
        assert all(cpu_ticks(pid) > t for pid, t in zip(burners, ticks, strict=True))

    def all_gone() -> None:
        assert [state(pid) for pid in burners] == [None, None]
        assert started_by(p) == [] and recorded(p) == []

    lifecycle(p, ssh, pool, burning, all_gone)


def test_cpu_burners_end_by_themselves_after_duration(local: Host, pool: ConnectionPool) -> None:
    p = plan(ResourceCpu(), {"duration": "1s", "load": 50, "method": "shell"}, local)
    run(p.inject, local, pool)
    [pid] = recorded(p)
    assert wait_until(lambda: state(pid) is None, timeout=6)
    run(p.revert, local, pool)  # ends the watchdog, which would have found nothing to do
    assert started_by(p) == []


@pytest.mark.skipif(shutil.which("stress-ng") is None, reason="stress-ng is not installed")
def test_cpu_uses_stress_ng_and_revert_ends_its_workers(local: Host, pool: ConnectionPool) -> None:
    p = plan(ResourceCpu(), {"workers": 2, "duration": "30s", "method": "stress-ng"}, local)
    workers: list[int] = []

    def burning() -> None:
        [parent] = recorded(p)
        assert argv(parent)[0] == "stress-ng"
        assert wait_until(lambda: len(children(parent)) == 2)
        workers.extend(children(parent))

    def all_gone() -> None:
        assert [state(pid) for pid in workers] == [None, None] and started_by(p) == []

    lifecycle(p, local, pool, burning, all_gone)


def test_memory_is_held_and_released(ssh: Host, pool: ConnectionPool) -> None:
    p = plan(ResourceMemory(), {"size": "64M", "duration": "30s"}, ssh)

    def holding() -> None:
        kib = 0
        for pid in started_by(p):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(("VmRSS:", "VmSwap:")):
                    kib += int(line.split()[1])
        assert kib >= 64 * 1024

    def released() -> None:
        assert started_by(p) == [] and recorded(p) == []

    lifecycle(p, ssh, pool, holding, released)


def test_memory_refuses_to_leave_less_than_keep_free(local: Host, pool: ConnectionPool) -> None:
    p = plan(ResourceMemory(), {"size": "1M", "keep_free": "64T"}, local)
    result = run_op(p.inject[0], local, pool)
    assert result.rc == 1 and "keep_free" in result.stderr
    assert started_by(p) == [] and recorded(p) == []
    with pytest.raises(FaultArgError, match="max_size"):
        ResourceMemory().plan({"size": "2G"}, local, FaultContext("t", "/tmp"))


def test_disk_fill_writes_one_file_and_revert_removes_it(
    tmp_path: Path, ssh: Host, pool: ConnectionPool
) -> None:
    free = shutil.disk_usage(tmp_path).free
    p = plan(DiskFill(), {"path": str(tmp_path), "size": "8M"}, ssh)

    def filled() -> None:
        [fill] = tmp_path.iterdir()
        assert fill.name.startswith(".drillctl-fill-") and fill.stat().st_size == 8 << 20
        assert shutil.disk_usage(tmp_path).free <= free - (6 << 20)  # others write too

    def empty() -> None:
        assert list(tmp_path.iterdir()) == [] and started_by(p) == []

    lifecycle(p, ssh, pool, filled, empty)


def test_disk_fill_refuses_to_leave_less_than_keep_free(
    tmp_path: Path, local: Host, pool: ConnectionPool
) -> None:
    p = plan(DiskFill(), {"path": str(tmp_path), "size": "1M", "keep_free": "64T"}, local)
    result = run_op(p.inject[0], local, pool)
    assert result.rc == 1 and "keep_free" in result.stderr
    assert list(tmp_path.iterdir()) == [] and started_by(p) == []
    with pytest.raises(FaultArgError, match="max_size"):
        DiskFill().plan({"path": "/tmp", "size": "2G"}, local, FaultContext("t", "/tmp"))


# -- file.corrupt, file.mutate --------------------------------------------------------------

ORIGINAL = b"pool_size=20\nurl=http://a.b/*[x]^$&\\n\nno newline at the end"


def snapshot(path: Path) -> tuple[bytes, int, int, int, int, int]:
    """Bytes, mode, owner, group, inode and mtime."""
    st = path.stat()
    return path.read_bytes(), st.st_mode, st.st_uid, st.st_gid, st.st_ino, st.st_mtime_ns


@pytest.mark.parametrize(
    ("fault", "args"),
    [
        (FileCorrupt(), {"mode": "truncate"}),
        (FileCorrupt(), {"mode": "garbage", "offset": 5, "bytes": 8}),
        (FileCorrupt(), {"mode": "append"}),
        (FileMutate(), {"replace": {"from": "http://a.b/*[x]^$&\\n", "to": "x&/\\\ny"}}),
        (FileMutate(), {"content": "pool_size=0\n"}),
    ],
    ids=["truncate", "garbage", "append", "replace", "content"],
)
def test_file_faults_restore_bytes_mode_owner_inode_and_mtime(
    fault: Fault, args: dict[str, Any], tmp_path: Path, ssh: Host, pool: ConnectionPool
) -> None:
    target = tmp_path / "app.conf"
    target.write_bytes(ORIGINAL)
    target.chmod(0o640)
    os.chown(target, 65534, 65534)
    os.utime(target, ns=(10**18, 10**18))
    before = snapshot(target)
    p = plan(fault, {"path": str(target), **args}, ssh)

    def changed_in_place() -> None:  # in place: whoever holds the file open sees it too
        assert target.read_bytes() != ORIGINAL and target.stat().st_ino == before[4]

    def restored() -> None:
        assert snapshot(target) == before and os.listdir(tmp_path) == ["app.conf"]

    lifecycle(p, ssh, pool, changed_in_place, restored)


def test_half_applied_file_inject_is_undone_by_revert(
    tmp_path: Path, ssh: Host, pool: ConnectionPool
) -> None:
    target = tmp_path / "state.db"
    target.write_bytes(ORIGINAL * 100)
    target.chmod(0o600)
    before = snapshot(target)
    p = plan(FileCorrupt(), {"path": str(target), "mode": "garbage", "bytes": 4}, ssh)
    backup, mutate = p.inject
    run(backup, ssh, pool)
    with target.open("r+b") as handle:  # the runner died while the mutation was writing
        handle.truncate(len(ORIGINAL) * 50)
    run(p.revert, ssh, pool)
    assert snapshot(target) == before and os.listdir(tmp_path) == ["state.db"]
    # A crash while the backup was being copied: the original is untouched, the mutation
    # refuses to run without a whole backup, and revert only removes the partial copy.
    bak = next(x for x in backup.script.splitlines() if x.startswith("bak="))[4:].strip("'")
    Path(bak + ".tmp").write_bytes(b"partial")
    assert run_op(mutate, ssh, pool).rc == 1
    run(p.revert, ssh, pool)
    assert snapshot(target) == before and os.listdir(tmp_path) == ["state.db"]


# -- a busybox container: no GNU tools, no pgrep --------------------------------------------


def test_pause_corrupt_and_cpu_work_in_a_busybox_container(
    make_container: ContainerFactory, pool: ConnectionPool
) -> None:
    # docker-init is PID 1 and its command line holds "sleep 3000.5" too: never a victim.
    container = make_container(command=("sh", "-c", "echo data > /tmp/f; exec sleep 3000.5"))
    host = Host(container.name, container.name, "docker", None, None, {}, ())

    def sh(script: str) -> str:
        return str(container.exec_run(["sh", "-c", script]).output.decode(errors="replace")).strip()

    # The container runs before its shell has exec'd the sleeper: wait for it, bounded.
    deadline = time.monotonic() + 30
    while not (sleeper := sh("pidof sleep")).isdigit():
        assert time.monotonic() < deadline, f"no sleeper in the container: {sleeper!r}"
        time.sleep(0.05)
    sleeper_state = f"cut -d' ' -f3 /proc/{sleeper}/stat"
    pause = plan(ProcessPause(), {"pattern": "sleep 3000[.]5"}, host)

    def stopped() -> None:
        assert sh(sleeper_state) == "T" and sh("cut -d' ' -f3 /proc/1/stat") != "T"

    def running() -> None:
        assert sh(sleeper_state) == "S"

    lifecycle(pause, host, pool, stopped, running)

    corrupt = plan(FileCorrupt(), {"path": "/tmp/f", "mode": "garbage", "bytes": 3}, host)

    def garbled() -> None:
        assert sh("cat /tmp/f") != "data"

    def intact() -> None:
        assert sh("cat /tmp/f; ls -A /tmp") == "data\nf"

    lifecycle(corrupt, host, pool, garbled, intact)

    cpu = plan(ResourceCpu(), {"duration": "20s", "load": 40}, host)
    marked = "grep -lzx 'DRILLCTL_.*' /proc/[0-9]*/environ 2>/dev/null | wc -l"

    def burning() -> None:
        assert int(sh(marked)) >= 2  # a burner and its watchdog

    def nothing_left() -> None:
        assert int(sh(marked)) == 0

    lifecycle(cpu, host, pool, burning, nothing_left)
