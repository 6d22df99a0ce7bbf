"""The inventory a drill runs against: hosts with resolved connection fields, and groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from runner.errors import Diagnostic


@dataclass(frozen=True)
class Host:
    """One target. `vars` is the final merge of every variable source, as Ansible sees it."""

    name: str
    address: str
    connection: str  # 'local' | 'ssh' | 'docker'
    port: int | None
    user: str | None
    vars: Mapping[str, Any]
    groups: tuple[str, ...]  # every group holding the host, lowest precedence first


@dataclass(frozen=True)
class Group:
    """A group: direct member hosts, child groups, and its own vars (file vars included)."""

    name: str
    hosts: tuple[str, ...]
    children: tuple[str, ...]
    vars: Mapping[str, Any]


@dataclass(frozen=True)
class Inventory:
    """Hosts in file order and groups (always with `all` and `ungrouped`, as Ansible)."""

    path: str
    hosts: Mapping[str, Host]
    groups: Mapping[str, Group]
    environment: str | None
    # Problems that stop a drill only where it targets the host (an unknown connection kind).
    unusable: Mapping[str, tuple[Diagnostic, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # What a drill touching the host should hear of before it runs (a variable that looks
    # like a misspelt connection name), which does not stop it.
    warnings: Mapping[str, tuple[Diagnostic, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def problems_of(self, hosts: Iterable[Host]) -> list[Diagnostic]:
        """What makes these hosts unusable, located in the inventory."""
        return [d for h in hosts for d in self.unusable.get(h.name, ())]

    def warnings_of(self, hosts: Iterable[Host]) -> list[Diagnostic]:
        """What to say about these hosts before a drill or exec touches them: once for each
        place, however many of them a group variable reaches."""
        return sorted({d for h in hosts for d in self.warnings.get(h.name, ())})

    def implicit_local_host(self, name: str) -> Host:
        """Ansible's implicit localhost: this machine, with group `all`'s variables."""
        all_vars = self.groups["all"].vars if "all" in self.groups else {}
        variables = MappingProxyType({**all_vars, "ansible_connection": "local"})
        return Host(name, name, "local", None, None, variables, ())

    def group_members(self, name: str) -> list[str]:
        """Names of the hosts in group `name` or any group below it, in Ansible's order.

        `all` lists every host in the order the inventory defines them. Any other group
        lists its own hosts first, then its child groups' hosts, one level of children at
        a time, each level in the order the groups were written (Ansible's
        `Group.get_hosts()`, whose order below the first level of children it leaves to
        a set's iteration; ours is the written order).
        """
        if name not in self.groups:
            raise KeyError(f"no group named {name!r} in {self.path}")
        if name == "all":
            return list(self.hosts)
        members: dict[str, None] = {}
        seen = {name}
        level = [name]
        while level:
            below: list[str] = []
            for group_name in level:
                group = self.groups[group_name]
                members.update(dict.fromkeys(group.hosts))
                for child in group.children:
                    if child not in seen:
                        seen.add(child)
                        below.append(child)
            level = below
        return list(members)
