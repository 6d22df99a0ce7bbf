"""`drillctl inventory`: an inventory as drillctl resolves it, as ansible-inventory shows it."""

from __future__ import annotations

import argparse
import json

from runner.cli import habits
from runner.cli.command import Command
from runner.errors import ExitCode, InputError


def show_inventory(args: argparse.Namespace) -> int:
    """--list (JSON), --graph (tree) or --host NAME (its variables)."""
    from runner.inventory import load_inventory
    from runner.inventory.views import render_graph, to_ansible_list
    from runner.vault import json_default

    inv = load_inventory(list(habits.inventories(args)))
    if args.graph:
        print(render_graph(inv))
    elif args.host:
        if args.host not in inv.hosts:
            raise InputError.at(inv.path, 1, 1, f"no host named {args.host!r} in this inventory")
        print(json.dumps(dict(inv.hosts[args.host].vars), indent=2, default=json_default))
    else:
        print(json.dumps(to_ansible_list(inv), indent=2, default=json_default))
    return ExitCode.PASSED


def _arguments(inv: argparse.ArgumentParser) -> None:
    habits.add_inventory_option(inv, "inventory file (YAML or Ansible INI)", required=True)
    mode = inv.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list", action="store_true", help="JSON, like ansible-inventory --list")
    mode.add_argument("--graph", action="store_true", help="tree, like ansible-inventory --graph")
    mode.add_argument("--host", metavar="NAME", help="one host's variables as JSON")
    habits.add_vault_options(inv)


INVENTORY = Command(
    "inventory",
    "show an inventory as drillctl resolves it",
    description="Show hosts, groups and variables after group_vars/host_vars.",
    arguments=_arguments,
    handler=show_inventory,
)
