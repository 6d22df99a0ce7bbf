"""Vault values: sealed until opened for a host, opened by ansible-core, secret once opened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import vault
from runner.connections.ssh_settings import SshSettings
from runner.errors import InputError
from runner.inventory.model import Host
from runner.secrets import SecretMask
from runner.vault import OpenedVars, OpenedVault, VaultLocked, VaultValue
from runner.yamlpos import load_yaml

PASSWORD = b"unit-test vault password"


def encrypted(plain: str, password: bytes = PASSWORD) -> str:
    from ansible.parsing.vault import VaultLib, VaultSecret

    lib = VaultLib([("default", VaultSecret(password))])
    return bytes(lib.encrypt(plain.encode())).decode()


def sealed_value(plain: str, password: bytes = PASSWORD) -> VaultValue:
    text = "x: !vault |\n" + "".join(f"  {line}\n" for line in encrypted(plain, password).split())
    value = load_yaml("inv.yml", text).value["x"]
    assert isinstance(value, VaultValue)
    return value


@pytest.fixture(autouse=True)
def no_password_left() -> Iterator[None]:
    vault.lock()
    yield
    vault.lock()


def test_a_sealed_value_opens_with_the_password_and_becomes_a_secret() -> None:
    value = sealed_value("hunter2-but-longer")
    mask = SecretMask()
    vault.unlock(PASSWORD, "pw.txt")
    assert vault.reveal({"nested": [value]}, mask) == {"nested": ["hunter2-but-longer"]}
    assert mask.mask("got hunter2-but-longer") == "got ********"


def test_without_a_password_a_value_stays_sealed_and_using_it_is_located() -> None:
    value = sealed_value("s3cret-value")
    mask = SecretMask()
    assert vault.reveal(value, mask) is value
    assert not mask
    with pytest.raises(VaultLocked) as caught:
        str(value)
    message = str(caught.value)
    assert message.startswith("inv.yml:1:4: ")
    assert "--vault-password-file" in message
    assert "s3cret" not in message and value.ciphertext not in message


def test_a_wrong_password_leaves_the_value_sealed_with_the_reason() -> None:
    value = sealed_value("s3cret-value", b"another password")
    vault.unlock(PASSWORD, "pw.txt")
    kept = vault.reveal(value, SecretMask())
    assert isinstance(kept, VaultValue)
    with pytest.raises(InputError, match=r"inv.yml:1:4: .*pw.txt \(wrong password\?\)"):
        str(kept)


def test_values_of_an_encrypted_file_are_secrets_and_never_print() -> None:
    opened = OpenedVault({"user": "app", "password": "file-secret-1"}, "group_vars/all.yml")
    mask = SecretMask()
    assert vault.reveal(opened, mask) == {"user": "app", "password": "file-secret-1"}
    assert mask.found_in("file-secret-1")
    assert "file-secret-1" not in repr(opened)
    with pytest.raises(VaultLocked):
        str(opened)


def test_connection_settings_open_a_vaulted_password() -> None:
    vault.unlock(PASSWORD, "pw.txt")
    host = Host(
        "gw1",
        "127.0.0.9",
        "ssh",
        2222,
        "deploy",
        {"ansible_password": sealed_value("ssh-pass-42"), "unused": sealed_value("x", b"other")},
        ("all",),
    )
    assert SshSettings.for_host(host).password == "ssh-pass-42"
    assert OpenedVars(host.vars)["ansible_password"] == "ssh-pass-42"


def test_a_password_file_is_read_without_its_newline(tmp_path: Path) -> None:
    file = tmp_path / "pw"
    file.write_text("  correct horse \n")
    assert vault.read_password_file(str(file)) == b"correct horse"


def test_an_executable_password_file_is_run(tmp_path: Path) -> None:
    script = tmp_path / "pw.sh"
    script.write_text("#!/bin/sh\necho from-the-script\n")
    script.chmod(0o700)
    assert vault.read_password_file(str(script)) == b"from-the-script"
    script.write_text("#!/bin/sh\nexit 3\n")
    with pytest.raises(InputError, match="exited with code 3"):
        vault.read_password_file(str(script))


def test_an_empty_or_missing_password_file_is_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(InputError, match="the password is empty"):
        vault.read_password_file(str(empty))
    with pytest.raises(InputError, match="file not found"):
        vault.read_password_file(str(tmp_path / "missing"))


def test_both_password_options_at_once_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "pw"
    file.write_text("pw\n")
    with pytest.raises(InputError, match="not both"):
        vault.unlock_from_options(str(file), True)
    assert not vault.unlocked()
