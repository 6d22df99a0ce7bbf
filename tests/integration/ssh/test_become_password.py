"""The become password reaches sudo only when sudo asks for it, never the command.

With a password-less sudo rule the password used to go to the command's stdin as its first
line; with a wrong password the command's own input used to be sudo's next try.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runner.connections.base import CancelToken, CommandResult, CommandSpec
from runner.connections.ssh import SshConnection
from runner.inventory import load_inventory
from tests.lab.ssh_fixtures import SUDO_PASSWORD, SudoUser

pytestmark = pytest.mark.integration

INPUT = "the step's own input\n"


def run_become(user: SudoUser, tmp_path: Path, password: str, spec: CommandSpec) -> CommandResult:
    lab = user.lab
    host_vars = {
        "connection": "ssh",
        "port": lab.port,
        "user": user.name,
        "ssh_key_file": str(lab.user_key),
        "known_hosts": str(lab.known_hosts),
        "become": True,
        "become_password": password,
    }
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {lab.addresses[0]: host_vars}}}))
    host = load_inventory(str(inventory)).hosts[lab.addresses[0]]
    conn = SshConnection(host)
    try:
        return conn.run(spec, timeout=30, cancel=CancelToken())
    finally:
        conn.close()


def test_without_a_prompt_the_command_gets_its_input_and_not_the_password(
    sudo_user: SudoUser, tmp_path: Path
) -> None:
    spec = CommandSpec(shell="id -u; cat", stdin=INPUT)
    result = run_become(sudo_user, tmp_path, "never-asked-for-Pw", spec)
    assert result.rc == 0, result.stderr
    assert result.stdout == "0\n" + INPUT
    assert "never-asked" not in result.stderr + result.stdout
    assert "drillctl" not in result.stderr, result.stderr


def test_when_sudo_asks_it_gets_the_password_and_the_command_its_input(
    sudo_user_with_password: SudoUser, tmp_path: Path
) -> None:
    spec = CommandSpec(shell="id -u; cat", stdin=INPUT)
    result = run_become(sudo_user_with_password, tmp_path, SUDO_PASSWORD, spec)
    assert result.rc == 0, result.stderr
    assert result.stdout == "0\n" + INPUT
    assert SUDO_PASSWORD not in result.stdout + result.stderr
    assert "drillctl" not in result.stderr, result.stderr  # no prompt, no announcement


def test_a_refused_password_ends_sudo_and_the_command_never_runs(
    sudo_user_with_password: SudoUser, tmp_path: Path
) -> None:
    # Were the input sudo's next try, a line of it that is the right password would run it.
    spec = CommandSpec(shell="id -u; cat", stdin=SUDO_PASSWORD + "\n" + INPUT)
    result = run_become(sudo_user_with_password, tmp_path, "wrong-Pw", spec)
    assert result.rc != 0
    assert result.stdout == ""
    assert not result.timed_out
