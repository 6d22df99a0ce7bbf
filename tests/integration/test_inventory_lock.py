"""Acceptance: one drill per inventory per controller, for every user, whatever path names it;
`exec` obeys the lock and the production guard; a dead run's faults stop the next run."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.journal import read_events
from tests.conftest import REPO, child_env, drillctl_argv, run_drillctl

pytestmark = pytest.mark.integration


def inventory(tmp_path: Path, environment: str = "staging", name: str = "inv.yml") -> Path:
    path = tmp_path / name
    path.write_text(
        f"all:\n  vars: {{environment: '{environment}'}}\n  hosts:\n    h1: {{connection: local}}\n"
    )
    return path


def as_user(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """drillctl run by another user: another HOME (and login name), same machine."""
    home.mkdir(exist_ok=True)
    return subprocess.run(
        drillctl_argv(*args),
        cwd=REPO,
        env=child_env(HOME=str(home), USER=home.name, LOGNAME=home.name),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def alice_holds(tmp_path: Path) -> Iterator[Path]:
    """Alice (her own HOME) runs a long drill on inv.yml; yields the inventory meanwhile."""
    inv = inventory(tmp_path)
    playbook = tmp_path / "long.yml"
    playbook.write_text(
        f"drill: long\nrollback_type: 2\ndeploy:\n  - shell: 'touch {tmp_path}/deployed; "
        "sleep 60'\n"
    )
    home = tmp_path / "alice"
    home.mkdir()
    first = subprocess.Popen(
        drillctl_argv("run", str(playbook), "-i", str(inv), "--out", str(tmp_path / "r1")),
        cwd=REPO,
        env=child_env(HOME=str(home), USER="alice", LOGNAME="alice"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "deployed").exists():
            assert first.poll() is None and time.monotonic() < deadline, "alice's drill died"
            time.sleep(0.05)
        yield inv
    finally:
        first.terminate()
        first.wait(60)


def quick_drill(tmp_path: Path) -> Path:
    path = tmp_path / "quick.yml"
    path.write_text(
        f"drill: quick\nrollback_type: 2\ndeploy:\n  - shell: 'touch {tmp_path}/q'\n"
        "rollback:\n  - {name: undo, shell: 'true'}\nverify:\n  - {name: check, shell: 'true'}\n"
    )
    return path


def test_another_user_cannot_run_on_the_inventory_by_any_path_while_a_drill_runs(
    alice_holds: Path, tmp_path: Path
) -> None:
    symlink = tmp_path / "elsewhere" / "link.yml"
    symlink.parent.mkdir()
    symlink.symlink_to(alice_holds)
    hardlink = tmp_path / "hard.yml"
    os.link(alice_holds, hardlink)
    quick = quick_drill(tmp_path)
    for n, path in enumerate((alice_holds, symlink, hardlink)):
        proc = as_user(
            tmp_path / "bob", "run", str(quick), "-i", str(path), "--out", str(tmp_path / f"b{n}")
        )
        assert proc.returncode == 3, (path, proc.stdout + proc.stderr)
        assert "another drill holds the lock" in proc.stderr and "alice" in proc.stderr
        assert not (tmp_path / "q").exists() and not (tmp_path / f"b{n}").exists()
    # A copy is another inventory: no lock shared with it.
    copy = inventory(tmp_path, name="copy.yml")
    ok = as_user(tmp_path / "bob", "run", str(quick), "-i", str(copy), "--out", str(tmp_path / "c"))
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_exec_is_refused_while_a_drill_holds_the_inventory(
    alice_holds: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "exec-ran"
    proc = as_user(
        tmp_path / "bob", "exec", "all", "-i", str(alice_holds), "--", "touch", str(marker)
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "another drill holds the lock" in proc.stderr and "alice" in proc.stderr
    assert not marker.exists()


def test_exec_takes_the_lock_and_frees_it(tmp_path: Path) -> None:
    inv = inventory(tmp_path)
    gate = tmp_path / "gate"
    slow = subprocess.Popen(
        drillctl_argv("exec", "all", "-i", str(inv), "--", f"touch {gate}; sleep 30"),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not gate.exists():
            assert slow.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        run = run_drillctl(
            "run", str(quick_drill(tmp_path)), "-i", str(inv), "--out", str(gate) + "-r"
        )
        assert run.returncode == 3 and "drillctl exec" in run.stderr, run.stderr
    finally:
        slow.terminate()
        slow.wait(30)
    after = run_drillctl("exec", "all", "-i", str(inv), "--", "true")
    assert after.returncode == 0, after.stdout + after.stderr


@pytest.mark.parametrize("environment", ["production", " Production ", "PROD", "prod"])
def test_exec_on_a_production_inventory_needs_both_flags(tmp_path: Path, environment: str) -> None:
    inv = inventory(tmp_path, environment)
    marker = tmp_path / "exec-ran"
    for flags in ([], ["--allow-production"], ["--change-id", "CHG-7"]):
        proc = run_drillctl("exec", "all", "-i", str(inv), *flags, "--", "touch", str(marker))
        assert proc.returncode == 2, (flags, proc.stdout + proc.stderr)
        assert f"{inv}:1:1:" in proc.stderr and "is production" in proc.stderr
        assert not marker.exists()
    ok = run_drillctl(
        "exec",
        "all",
        "-i",
        str(inv),
        "--allow-production",
        "--change-id",
        "CHG-7",
        "--",
        "touch",
        str(marker),
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert marker.exists()


def test_one_production_host_or_group_makes_the_drill_production(tmp_path: Path) -> None:
    inv = tmp_path / "mixed.yml"
    inv.write_text(
        "all:\n  vars: {environment: staging}\n  hosts:\n    stage1: {connection: local}\n"
        "  children:\n"
        "    db:\n      vars: {environment: ' PRODUCTION'}\n"
        "      hosts:\n        db1: {connection: local}\n"
        "    live:\n      hosts:\n        web1: {connection: local, environment: Live}\n"
    )
    marker = tmp_path / "ran"
    touch = ["--", "touch", str(marker)]
    assert run_drillctl("exec", "stage1", "-i", str(inv), *touch).returncode == 0
    marker.unlink()
    refused = run_drillctl("exec", "stage1:db1", "-i", str(inv), *touch)
    assert refused.returncode == 2 and "group db" in refused.stderr, refused.stderr
    assert not marker.exists()
    # A further production name, from the environment.
    assert run_drillctl("exec", "web1", "-i", str(inv), *touch).returncode == 0
    marker.unlink()
    named = subprocess.run(
        drillctl_argv("exec", "web1", "-i", str(inv), *touch),
        cwd=REPO,
        env=child_env(DRILLCTL_PRODUCTION_NAMES="live, prd"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert named.returncode == 2 and "host web1" in named.stderr, named.stderr
    assert not marker.exists()
    # The drill guard reads the hosts the drill targets, not only group `all`.
    playbook = tmp_path / "db.yml"
    playbook.write_text(
        f"drill: db\nrollback_type: 2\nhosts: db\ndeploy:\n  - shell: 'touch {marker}'\n"
    )
    run = run_drillctl("run", str(playbook), "-i", str(inv), "--out", str(tmp_path / "db"))
    assert run.returncode == 2 and "--allow-production" in run.stderr, run.stderr
    assert not marker.exists()


def test_the_lock_directory_is_created_sticky_and_an_unsafe_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "locks" / "drillctl"
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(fresh))
    inv = inventory(tmp_path)
    assert run_drillctl("exec", "all", "-i", str(inv), "--", "true").returncode == 0
    mode = fresh.stat().st_mode
    assert stat.S_IMODE(mode) == 0o1777, oct(mode)
    locks = list(fresh.glob("*.lock"))
    assert len(locks) == 1 and stat.S_IMODE(locks[0].stat().st_mode) == 0o666
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    unsafe.chmod(0o777)  # world-writable, not sticky: anyone could swap a lock file
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(unsafe))
    proc = run_drillctl("exec", "all", "-i", str(inv), "--", "true")
    assert proc.returncode == 3 and "sticky" in proc.stderr, proc.stderr


def fault_drill(tmp_path: Path, revert: str) -> Path:
    marker = tmp_path / "fault-on"
    path = tmp_path / "fault.yml"
    path.write_text(
        "drill: faulty\nrollback_type: 2\ninject:\n"
        f"  - fault: {{kind: custom, name: marker, inject: 'touch {marker}', "
        f"revert: '{revert}', check: 'test -f {marker}'}}\n"
        "  - pause: 30s\n"
    )
    return path


def kill_once_injected(playbook: Path, inv: Path, run_dir: Path) -> None:
    """SIGKILL the runner once its fault is in effect (the drill's pause keeps it waiting)."""
    journal = run_dir / "journal.jsonl"
    proc = subprocess.Popen(
        drillctl_argv("run", str(playbook), "-i", str(inv), "--out", str(run_dir)),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (
        journal.exists() and any(e["event"] == "fault_injected" for e in read_events(journal))
    ):
        assert proc.poll() is None and time.monotonic() < deadline, "the fault never landed"
        time.sleep(0.05)
    proc.kill()
    proc.wait()


def test_a_run_after_a_dead_run_with_faults_left_is_refused_until_recover(tmp_path: Path) -> None:
    inv = inventory(tmp_path)
    marker = tmp_path / "fault-on"
    dead = tmp_path / "dead"
    kill_once_injected(fault_drill(tmp_path, f"rm -f {marker}"), inv, dead)
    assert marker.exists()
    # By another path to the same file, and as another user: still refused.
    link = tmp_path / "link.yml"
    link.symlink_to(inv)
    quick = quick_drill(tmp_path)
    refused = as_user(
        tmp_path / "carol", "run", str(quick), "-i", str(link), "--out", str(tmp_path / "c")
    )
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert f"drillctl recover {dead.resolve()}" in refused.stderr
    assert "--ignore-unrecovered" in refused.stderr and not (tmp_path / "q").exists()
    forced = run_drillctl(
        "run", str(quick), "-i", str(inv), "--ignore-unrecovered", "--out", str(tmp_path / "forced")
    )
    assert forced.returncode == 0, forced.stdout + forced.stderr
    (tmp_path / "q").unlink()
    # The forced run is now the last one, and its ledger closed; the dead run still needs
    # recover, which closes its ledger, and a run is welcome again.
    rec = run_drillctl("recover", str(dead))
    assert rec.returncode == 0 and not marker.exists(), rec.stdout + rec.stderr
    again = run_drillctl("run", str(quick), "-i", str(inv), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stdout + again.stderr


def test_recover_that_cannot_make_the_revert_hold_says_what_is_left_and_refuses_the_next_run(
    tmp_path: Path,
) -> None:
    inv = inventory(tmp_path)
    marker = tmp_path / "fault-on"
    dead = tmp_path / "dead"
    kill_once_injected(fault_drill(tmp_path, "true"), inv, dead)  # a revert that reverts nothing
    started = time.monotonic()
    rec = run_drillctl("recover", str(dead), "--deadline", "2", "--settle", "0.2")
    assert rec.returncode == 1, rec.stdout + rec.stderr
    assert time.monotonic() - started < 30
    assert "NOT REVERTED" in rec.stderr and "on h1: marker" in rec.stderr
    assert "still in effect" in rec.stderr and "run by hand on h1: true" in rec.stderr
    assert f"drillctl recover {dead}" in rec.stderr and "reverted f" not in rec.stdout
    assert marker.exists()
    quick = [str(quick_drill(tmp_path)), "-i", str(inv)]
    refused = run_drillctl("run", *quick, "--out", str(tmp_path / "refused"))
    assert refused.returncode == 3 and "drillctl recover" in refused.stderr
    # Fixed by hand: recover then finds the check holding and closes the ledger.
    marker.unlink()
    assert run_drillctl("recover", str(dead)).returncode == 0
    assert run_drillctl("run", *quick, "--out", str(tmp_path / "after")).returncode == 0
