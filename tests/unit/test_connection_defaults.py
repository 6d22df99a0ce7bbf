"""Connection defaults from the command line fill only what a host leaves unset, and
`drillctl recover` reaches the hosts with the defaults the run journaled."""

from __future__ import annotations

from pathlib import Path

from runner.engine.recover import _inventory
from runner.inventory import load_inventory
from runner.inventory.defaults import ConnectionDefaults, apply_defaults

INVENTORY = """\
all:
  vars: {connection: ssh}
  hosts:
    plain: {address: 127.0.0.9}
    own: {address: 127.0.0.9, ansible_user: bob, ansible_become: false, ssh_key_file: /k/bob}
    here: {connection: local}
"""


def test_defaults_fill_only_what_a_ssh_host_leaves_unset(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(INVENTORY)
    inv = apply_defaults(
        load_inventory(path), ConnectionDefaults("alice", "/k/alice", True, "postgres")
    )
    plain, own, here = inv.hosts["plain"], inv.hosts["own"], inv.hosts["here"]
    assert plain.user == "alice"
    assert (plain.vars["ssh_key_file"], plain.vars["become"]) == ("/k/alice", True)
    assert plain.vars["become_user"] == "postgres"
    assert own.user == "bob" and own.vars["ssh_key_file"] == "/k/bob"
    assert own.vars["ansible_become"] is False and "become" not in own.vars
    assert here.user is None and "become" not in here.vars
    assert apply_defaults(inv, ConnectionDefaults()) is inv


def test_recover_reaches_the_hosts_with_the_runs_connection_defaults(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text(INVENTORY)
    started = {
        "inventory_path": str(path),
        "inventory_paths": [str(path)],
        "connection_defaults": {"user": "alice", "private_key": None, "become": True},
    }
    inv = _inventory(started)
    assert inv.hosts["plain"].user == "alice" and inv.hosts["plain"].vars["become"] is True
    # A journal from before these fields: the single path, no defaults.
    old = _inventory({"inventory_path": str(path)})
    assert old.hosts["plain"].user is None and "become" not in old.hosts["plain"].vars
