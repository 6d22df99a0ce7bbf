"""Which variable wins: Ansible's inventory precedence, lowest first.

1. group `all` in the inventory file, then `group_vars/all`;
2. every other group of the host in the inventory file, shallow groups first (a child
   group beats its parent; siblings at the same depth apply in alphabetical order);
3. the same groups' `group_vars/` files, in the same order, so a file beats any group
   written in the inventory file (Ansible's `groups_inventory` < `groups_plugins_inventory`);
4. the host's own variables in the inventory file, then `host_vars/`.

Merging is shallow (Ansible's default `hash_behaviour=replace`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from runner.inventory.source import ALL, InventorySource, Located
from runner.inventory.vars_files import VarsFiles


class Precedence:
    """Group depths and variable merging for one inventory source."""

    def __init__(self, source: InventorySource, files: VarsFiles) -> None:
        self.source = source
        self.files = files
        self.parents: dict[str, list[str]] = {name: [] for name in source.groups}
        for name, group in source.groups.items():
            for child in group.children:
                self.parents[child].append(name)
        self.depth = cache(self._depth)

    def _depth(self, group: str) -> int:
        """Longest chain of parents up to `all` (which is 0; groups under it are 1)."""
        if group == ALL:
            return 0
        return 1 + max((self.depth(p) for p in self.parents[group]), default=0)

    def host_groups(self, host: str) -> list[str]:
        """Every group holding `host`, directly or through a child group, lowest first."""
        found: set[str] = set()
        todo = [g for g, group in self.source.groups.items() if host in group.hosts]
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo.extend(self.parents[name])
        found.discard(ALL)
        return [ALL, *sorted(found, key=lambda g: (self.depth(g), g))]

    def group_vars(self, group: str) -> dict[str, Located]:
        """A group's own variables: the inventory file's, overridden by its vars files."""
        return {**self.source.groups[group].vars, **self.files.groups.get(group, {})}

    def host_vars(self, host: str) -> dict[str, Located]:
        """The final variables of `host`, each with the place that set it."""
        groups = self.host_groups(host)[1:]
        layers: list[Mapping[str, Located]] = [
            self.source.groups[ALL].vars,
            self.files.groups.get(ALL, {}),
            *(self.source.groups[g].vars for g in groups),
            *(self.files.groups.get(g, {}) for g in groups),
            self.source.hosts[host].vars,
            self.files.hosts.get(host, {}),
        ]
        merged: dict[str, Located] = {}
        for layer in layers:
            merged.update(layer)
        return merged
