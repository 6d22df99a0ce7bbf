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


def test_a_hosts_connection_passwords_are_masked_though_no_secrets_list_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The usual way to look at a host's variables, debugging a drill, prints them all.
    inventory = tmp_path / "inv.yml"
    inventory.write_text(
        "all:\n  hosts:\n    h1:\n      connection: local\n"
        "      ansible_become_password: Become-Pa55\n      ansible_password: Login-Pa55\n",
        encoding="utf-8",
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: t\nrollback_type: 2\ndeploy:\n"
        '  - shell: "echo {{ hostvars[inventory_hostname] | to_json | quote }}"\n'
        '  - shell: "echo B={{ ansible_become_password }} L={{ ansible_password }}"\n'
        'rollback:\n  - shell: "true"\nverify:\n  - command: "true"\n',
        encoding="utf-8",
    )
    out = tmp_path / "run"
    assert main(["run", str(playbook), "-i", str(inventory), "-v", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    texts = {"the terminal": captured.out + captured.err}
    texts |= {p.name: p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()}
    assert "B=******** L=********" in texts["journal.jsonl"]  # printed, masked
    for where, text in texts.items():
        assert "Become-Pa55" not in text and "Login-Pa55" not in text, where
