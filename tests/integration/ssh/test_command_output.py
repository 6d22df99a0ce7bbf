"""A command's output on an SSH host arrives whole, however its end and its exit status race."""

from __future__ import annotations

import pytest

from runner.connections.base import CancelToken, CommandSpec
from runner.connections.ssh import SshConnection
from runner.inventory import load_inventory
from runner.lab.ssh_lab import SshLab

pytestmark = pytest.mark.integration

# More than paramiko's 2 MiB channel window: the ends of both streams are still on their
# way when the exit status is in.
BIG = 3_000_000


def _connection(lab: SshLab) -> SshConnection:
    inventory = load_inventory([str(lab.inventory)])
    return SshConnection(inventory.hosts[lab.addresses[0]])


def test_output_beyond_the_window_on_both_streams_arrives_whole(ssh_hosts: SshLab) -> None:
    conn = _connection(ssh_hosts)
    try:
        script = f"head -c {BIG} /dev/zero | tr '\\0' o; head -c {BIG} /dev/zero | tr '\\0' e >&2"
        result = conn.run(CommandSpec(shell=script), timeout=60, cancel=CancelToken())
    finally:
        conn.close()
    assert result.rc == 0
    assert len(result.stdout) == BIG and set(result.stdout) == {"o"}
    assert len(result.stderr) == BIG and set(result.stderr) == {"e"}


def test_every_short_command_ends_with_all_of_its_output(ssh_hosts: SshLab) -> None:
    # The exit status comes before the end of output for about one command in five: each of
    # these must still return the last lines of both streams.
    conn = _connection(ssh_hosts)
    try:
        results = [
            conn.run(
                CommandSpec(shell=f"echo out{i}; echo err{i} >&2; exit {i % 3}"),
                timeout=10,
                cancel=CancelToken(),
            )
            for i in range(60)
        ]
    finally:
        conn.close()
    got = [(r.rc, r.stdout, r.stderr) for r in results]
    assert got == [(i % 3, f"out{i}\n", f"err{i}\n") for i in range(60)]
