"""The temporary inventory an `ansible` step hands to ansible-playbook."""

from __future__ import annotations

import shlex
from pathlib import Path

from runner.actions.ansible_playbook import temporary_inventory
from runner.inventory.model import Host
from runner.vault import VaultValue


def ssh_host(tmp_path: Path) -> Host:
    return Host(
        "gw1",
        "127.0.0.7",
        "ssh",
        2202,
        "deploy",
        {
            "ssh_key_file": str(tmp_path / "id_ed25519"),
            "known_hosts": str(tmp_path / "my known_hosts"),
            "host_key_checking": "off",  # drillctl's setting: Ansible still checks strictly
        },
        ("all", "gateway"),
    )


def test_an_ssh_host_is_reached_with_strict_host_key_checking(tmp_path: Path) -> None:
    host = ssh_host(tmp_path)
    variables = {
        **host.vars,
        "release": "2.4.1",
        "inventory_hostname": "gw1",
        "environment": "staging",
        "hostvars": {"gw1": {}},
    }
    inv = temporary_inventory(host, variables)
    assert list(inv["all"]["hosts"]) == ["gw1"]
    got = inv["all"]["hosts"]["gw1"]
    assert got["ansible_connection"] == "ssh"
    assert (got["ansible_host"], got["ansible_port"], got["ansible_user"]) == (
        "127.0.0.7",
        2202,
        "deploy",
    )
    assert got["ansible_ssh_private_key_file"] == str(tmp_path / "id_ed25519")
    args = shlex.split(got["ansible_ssh_common_args"])
    assert f"UserKnownHostsFile={tmp_path / 'my known_hosts'}" in args
    assert "StrictHostKeyChecking=yes" in args
    assert got["release"] == "2.4.1"
    for own in ("inventory_hostname", "environment", "hostvars", "known_hosts", "ssh_key_file"):
        assert own not in got


def test_a_sealed_vault_value_is_not_handed_on(tmp_path: Path) -> None:
    host = ssh_host(tmp_path)
    sealed = VaultValue("$ANSIBLE_VAULT;1.1;AES256\n3132", "inv.yml", 3, 9)
    got = temporary_inventory(host, {"token": sealed, "opened": "x"})["all"]["hosts"]["gw1"]
    assert "token" not in got and got["opened"] == "x"


def test_a_local_host_runs_with_the_local_connection() -> None:
    host = Host("app1", "localhost", "local", None, None, {}, ("all",))
    got = temporary_inventory(host, {})["all"]["hosts"]["app1"]
    assert got["ansible_connection"] == "local"
    assert "ansible_ssh_common_args" not in got
