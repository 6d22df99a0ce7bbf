"""Which variable wins: Ansible's inventory precedence, lowest first.

1. group `all` in the inventory file, then `group_vars/all`;
2. every other group of the host in the inventory file, shallow groups first (a child
   group beats its parent; at the same depth a higher `ansible_group_priority` wins, then
   the name: siblings apply in alphabetical order);
3. the same groups' `group_vars/` files, in the same order, so a file beats any group
   written in the inventory file (Ansible's `groups_inventory` < `groups_plugins_inventory`);
4. the host's own variables in the inventory file, then `host_vars/`.

Merging is shallow (Ansible's default `hash_behaviour=replace`). As in Ansible,
`ansible_group_priority` is read only from the inventory file (not from `group_vars/`) and is
a property of the group, not a variable of its hosts.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from runner.errors import InputError
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
        self.priority = {name: _priority(group.vars) for name, group in source.groups.items()}

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
        return [ALL, *sorted(found, key=lambda g: (self.depth(g), self.priority[g], g))]

    def group_vars(self, group: str) -> dict[str, Located]:
        """A group's own variables: the inventory file's, overridden by its vars files."""
        return {**self._inline(group), **self.files.groups.get(group, {})}

    def _inline(self, group: str) -> Mapping[str, Located]:
        """A group's variables written in the inventory file, less its priority."""
        written = self.source.groups[group].vars
        if PRIORITY not in written:
            return written
        return {key: item for key, item in written.items() if key != PRIORITY}

    def host_vars(self, host: str) -> dict[str, Located]:
        """The final variables of `host`, each with the place that set it."""
        groups = self.host_groups(host)[1:]
        layers: list[Mapping[str, Located]] = [
            self._inline(ALL),
            self.files.groups.get(ALL, {}),
            *(self._inline(g) for g in groups),
            *(self.files.groups.get(g, {}) for g in groups),
            self.source.hosts[host].vars,
            self.files.hosts.get(host, {}),
        ]
        merged: dict[str, Located] = {}
        for layer in layers:
            merged.update(layer)
        return merged


PRIORITY = "ansible_group_priority"


def _priority(written: Mapping[str, Located]) -> int:
    """A group's `ansible_group_priority` (default 1, as Ansible); anything but a whole
    number is bad input, since a guessed priority would silently change which value wins."""
    item = written.get(PRIORITY)
    if item is None:
        return 1
    value: Any = item.value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError([item.origin.diag(f"{PRIORITY} must be a whole number, got {value!r}")])
    return value
