"""`drillctl exec` masks what the inventory holds secret in what a command prints: the
hosts' connection passwords, whether or not a vault holds them."""

from __future__ import annotations

import io
from pathlib import Path

from runner.engine.adhoc import run_adhoc, select
from runner.errors import ExitCode
from runner.inventory import load_inventory
from runner.secrets import MASK


def test_a_hosts_connection_password_is_masked_in_what_the_command_prints(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(
        "all:\n  hosts:\n    h1:\n      connection: local\n"
        "      ansible_become_password: Become-Pa55\n      motd: Hello-World-1\n"
    )
    hosts = select(load_inventory(path), "all", None)
    out = io.StringIO()
    command = "echo Become-Pa55 Hello-World-1; echo Become-Pa55 >&2"
    assert run_adhoc(hosts, command, forks=1, timeout=10.0, out=out) == ExitCode.PASSED
    printed = out.getvalue()
    assert "Become-Pa55" not in printed, printed
    # The output is there, masked; a variable that is no password stays readable.
    assert f"{MASK} Hello-World-1\n{MASK}\n" in printed, printed
