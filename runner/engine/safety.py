"""Guards before a drill or an exec touches anything: production and irreversible changes.

The inventory lock (one drill per inventory per controller) is in runner.engine.lock;
`InventoryLock` and `lock_location` are re-exported here for callers of the old home.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.engine.lock import InventoryLock, lock_dir, lock_location
from runner.errors import InputError
from runner.inventory import Inventory
from runner.inventory.model import Host
from runner.playbook.model import Playbook

__all__ = [
    "InventoryLock",
    "Permissions",
    "ProductionMark",
    "check_guards",
    "check_production",
    "lock_dir",
    "lock_location",
    "production_marks",
    "production_names",
]

DEFAULT_PRODUCTION_NAMES = ("production", "prod")
PRODUCTION_NAMES_ENV = "DRILLCTL_PRODUCTION_NAMES"
PRODUCTION_NAMES_VAR = "production_names"  # a var of group `all`: a list, or one string


@dataclass(frozen=True)
class Permissions:
    allow_production: bool = False
    allow_irreversible: bool = False
    change_id: str = ""


@dataclass(frozen=True)
class ProductionMark:
    """Why a targeted host counts as production: where its `environment` says so."""

    host: str
    where: str  # "host h1", "group db", "group all"
    value: str


def normalized(value: Any) -> str:
    """`environment` as compared: case and surrounding or repeated whitespace do not count."""
    return " ".join(str(value).split()).casefold()


def production_names(inventory: Inventory) -> frozenset[str]:
    """production, prod, $DRILLCTL_PRODUCTION_NAMES (comma-separated), and the inventory's
    `production_names` (on group `all`)."""
    names = set(DEFAULT_PRODUCTION_NAMES)
    names.update(os.environ.get(PRODUCTION_NAMES_ENV, "").split(","))
    all_group = inventory.groups.get("all")
    extra = all_group.vars.get(PRODUCTION_NAMES_VAR) if all_group else None
    if isinstance(extra, str):
        names.update(extra.split(","))
    elif isinstance(extra, (list, tuple)):
        names.update(str(item) for item in extra)
    return frozenset(n for n in (normalized(name) for name in names) if n)


def production_marks(inventory: Inventory, hosts: Iterable[Host]) -> list[ProductionMark]:
    """Every targeted host that is production: its own `environment`, or any of its groups'."""
    names = production_names(inventory)
    targeted = list(hosts)
    marks = []
    for host in targeted:
        # Groups first, most specific first, so a mark names where it is set: a host's
        # `vars` hold its groups' values too.
        sources: list[tuple[str, Mapping[str, Any]]] = [
            (f"group {g}", inventory.groups[g].vars)
            for g in reversed(host.groups)
            if g in inventory.groups
        ]
        sources.append((f"host {host.name}", host.vars))
        for where, variables in sources:
            value = variables.get("environment")
            if value is not None and normalized(value) in names:
                marks.append(ProductionMark(host.name, where, " ".join(str(value).split())))
                break
    whole = inventory.environment
    if not marks and whole is not None and normalized(whole) in names:
        marks = [ProductionMark(h.name, "group all", " ".join(whole.split())) for h in targeted]
    return marks


def check_production(inventory: Inventory, hosts: Iterable[Host], allowed: Permissions) -> None:
    """Refuse (exit 2) to touch a production host without --allow-production and --change-id."""
    targeted = list(hosts)
    marks = production_marks(inventory, targeted)
    if not marks:
        return
    missing = [
        flag
        for flag, given in (
            ("--allow-production", allowed.allow_production),
            ("--change-id", allowed.change_id),
        )
        if not given
    ]
    if missing:
        first = marks[0]
        more = f" (and {len(marks) - 1} more host(s))" if len(marks) > 1 else ""
        raise InputError.at(
            inventory.path,
            1,
            1,
            f"{first.where} is marked environment: {first.value}, so host {first.host}{more} "
            f"is production; touching it needs {' and '.join(missing)} "
            f"(production names: {', '.join(sorted(production_names(inventory)))})",
        )


def check_guards(
    playbook: Playbook,
    inventory: Inventory,
    allowed: Permissions,
    hosts: Iterable[Host] | None = None,
) -> None:
    """Refuse (exit 2) what needs an explicit flag; say which flag.

    `hosts`: the hosts the drill targets (default: every host of the inventory).
    """
    check_production(inventory, inventory.hosts.values() if hosts is None else hosts, allowed)
    if playbook.rollback_type == 5 and playbook.steps("deploy") and not allowed.allow_irreversible:
        raise InputError.at(
            playbook.path,
            1,
            1,
            "rollback_type 5 is a point of no return: its deploy cannot be rolled back; "
            "run it only with --allow-irreversible",
        )
