"""A secret listed under `secrets:` and set in the inventory is masked in the errors of the
variables that use it, at plan time, as a secret given with -e is."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main

SECRET = "Inv-Secret-77"


@pytest.mark.parametrize("command", ["plan", "run"])
def test_an_inventory_secret_is_masked_in_the_error_of_a_variable_using_it(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inv.yml"
    inventory.write_text(
        "all:\n  hosts:\n    h1:\n      connection: local\n"
        f"      db_password: {SECRET}\n"
        '      dsn: "{{ {}[db_password] }}"\n',  # the error quotes the key: the secret
        encoding="utf-8",
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: t\nrollback_type: 2\nsecrets: [db_password]\n"
        'deploy:\n  - shell: "echo {{ dsn | quote }}"\nrollback:\n  - shell: "true"\n',
        encoding="utf-8",
    )
    out = tmp_path / "run"
    argv = [command, str(playbook), "-i", str(inventory)]
    assert main([*argv, "--out", str(out)] if command == "run" else argv) == 2
    captured = capsys.readouterr()
    assert "variable 'dsn' on host h1" in captured.err and "'********'" in captured.err
    assert SECRET not in captured.out + captured.err
    assert not out.exists()
