"""The inventory a drill runs against: hosts with resolved connection fields, and groups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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

    def select(self, pattern: str) -> list[Host]:
        """Hosts matching an Ansible host pattern (`gateway:&staging:!gw2`), in file order."""
        from runner.inventory.patterns import select_hosts

        return select_hosts(self, pattern)

    def group_members(self, name: str) -> list[str]:
        """Names of the hosts in group `name` or any group below it, in file order."""
        if name not in self.groups:
            raise KeyError(f"no group named {name!r} in {self.path}")
        members: set[str] = set()
        seen: set[str] = set()
        todo = [name]
        while todo:
            group = self.groups[todo.pop()]
            if group.name in seen:
                continue
            seen.add(group.name)
            members.update(group.hosts)
            todo.extend(group.children)
        return [host for host in self.hosts if host in members]
