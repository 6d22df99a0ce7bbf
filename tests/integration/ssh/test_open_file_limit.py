"""Acceptance: a run the open-file limit cannot carry is refused at preflight (exit 3, with
the numbers), never half-run with hosts lost to the limit and reported as down."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runner.engine.resources import BASE_FDS, PER_COMMAND_IN_FLIGHT
from runner.lab.ssh_lab import SshLab
from tests.conftest import REPO, child_env, drillctl_argv

pytestmark = pytest.mark.integration

LIMIT = 256
FORKS = 10
# Fits with a few hosts; one socket per SSH host makes this many too many.
TOO_MANY = LIMIT - BASE_FDS - FORKS * PER_COMMAND_IN_FLIGHT + 1


def limited(soft: int, hard: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def run_limited(
    *args: str, soft: int = LIMIT, hard: int = LIMIT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        drillctl_argv(*args),
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: limited(soft, hard),
    )


def marker_playbook(tmp_path: Path) -> Path:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: many hosts\nrollback_type: 2\nrollback_when: failure\nhosts: all\n"
        f"deploy:\n  - shell: 'touch {tmp_path}/ran-{{{{ inventory_hostname }}}}'\n"
    )
    return playbook


def test_more_ssh_hosts_than_the_limit_allows_is_refused_before_any_connection(
    tmp_path: Path,
) -> None:
    hosts = "".join(
        f"    h{i}:\n      address: 127.0.{1 + i // 250}.{1 + i % 250}\n" for i in range(TOO_MANY)
    )
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  vars:\n    connection: ssh\n    port: 9\n  hosts:\n{hosts}")
    out = tmp_path / "run"
    started = time.monotonic()
    proc = run_limited("run", str(marker_playbook(tmp_path)), "-i", str(inv), "--out", str(out))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    need = BASE_FDS + TOO_MANY + FORKS * PER_COMMAND_IN_FLIGHT
    assert f"this run needs up to {need} open files" in proc.stderr
    assert f"{TOO_MANY} SSH hosts x 1" in proc.stderr
    assert f"the controller allows {LIMIT} (hard limit {LIMIT})" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Refused before connecting to anything (no unreachable hosts, no journal, no PASSED).
    assert time.monotonic() - started < 10
    assert not (out / "journal.jsonl").exists()
    assert "PASSED" not in proc.stdout


def test_exec_on_too_many_hosts_is_refused_too(tmp_path: Path) -> None:
    hosts = "".join(f"    h{i}:\n      address: 127.0.1.{1 + i}\n" for i in range(TOO_MANY))
    inv = tmp_path / "inv.yml"
    inv.write_text(f"all:\n  vars:\n    connection: ssh\n    port: 9\n  hosts:\n{hosts}")
    proc = run_limited("exec", "all", "-i", str(inv), "--", "true")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "open files" in proc.stderr


def test_a_run_within_the_limit_goes_ahead(ssh_hosts: SshLab, tmp_path: Path) -> None:
    out = tmp_path / "run"
    playbook = marker_playbook(tmp_path)
    proc = run_limited("run", str(playbook), "-i", str(ssh_hosts.inventory), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(list(tmp_path.glob("ran-*"))) == len(ssh_hosts.addresses)


def test_the_soft_limit_is_raised_to_the_hard_limit(tmp_path: Path) -> None:
    # The same hosts pass once the soft limit may rise: nothing is refused for a limit the
    # process could have raised itself.
    script = textwrap.dedent(
        """
        import resource
        from runner.engine.resources import raise_open_file_limit
        print(raise_open_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=lambda: limited(LIMIT, 4 * LIMIT),
    )
    assert proc.stdout.split() == [
        f"({4 * LIMIT},",
        f"{4 * LIMIT})",
        f"({4 * LIMIT},",
        f"{4 * LIMIT})",
    ]


def test_a_host_lost_to_the_limit_says_so_instead_of_down(ssh_hosts: SshLab) -> None:
    # Past preflight the limit can still bite (another library's files): the host is
    # unreachable for a local reason, named as such.
    script = textwrap.dedent(
        f"""
        import resource, os
        from runner.connections.pool import HostUnreachable
        from runner.connections.ssh import SshConnection
        from runner.inventory import load_inventory
        from runner.inventory.patterns import select_hosts
        host = select_hosts(load_inventory({str(ssh_hosts.inventory)!r}), "all")[0]
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        held = []
        try:
            while True:
                held.append(os.open("/dev/null", os.O_RDONLY))
        except OSError:
            pass
        try:
            SshConnection(host).connect()
            print("connected")
        except HostUnreachable as exc:
            print(exc)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "local limit on the controller: too many open files" in proc.stdout, proc
    assert "the host's own state is unknown" in proc.stdout
