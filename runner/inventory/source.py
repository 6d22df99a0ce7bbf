"""What one inventory file says, before group_vars/host_vars files and precedence apply.

Both file formats (YAML and INI) feed an `InventoryBuilder`; it keeps every variable
together with the place it was written, so a bad port found after merging can still
be reported at the line that set it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from runner.errors import Diagnostic

ALL = "all"
UNGROUPED = "ungrouped"

_GROUP_NAME = re.compile(r"^\w[\w.\-]*$")
_HOST_FORBIDDEN = re.compile(r"[\s,]")


@dataclass(frozen=True)
class Origin:
    """Where something was written: file, line and column (1-based)."""

    path: str
    line: int
    col: int

    def diag(self, message: str) -> Diagnostic:
        return Diagnostic(self.path, self.line, self.col, message)


@dataclass(frozen=True)
class Located:
    """A variable's value and where it was set."""

    value: Any
    origin: Origin


LocatedVars = Mapping[str, Located]


@dataclass(frozen=True)
class HostSource:
    name: str
    origin: Origin
    vars: LocatedVars


@dataclass(frozen=True)
class GroupSource:
    name: str
    origin: Origin
    hosts: tuple[str, ...]
    children: tuple[str, ...]
    vars: LocatedVars


@dataclass(frozen=True)
class InventorySource:
    """A parsed inventory file: hosts in file order, groups including `all` and `ungrouped`."""

    path: str
    hosts: Mapping[str, HostSource]
    groups: Mapping[str, GroupSource]
    problems: tuple[Diagnostic, ...] = ()  # what was wrong; the rest is still usable


@dataclass
class _GroupDraft:
    origin: Origin
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Located] = field(default_factory=dict)


@dataclass
class _HostDraft:
    origin: Origin
    groups: set[str] = field(default_factory=set)
    vars: dict[str, Located] = field(default_factory=dict)


class InventoryBuilder:
    """Collects hosts, groups and their links; refuses loops and unusable names."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[Diagnostic] = []
        top = Origin(path, 1, 1)
        self._groups: dict[str, _GroupDraft] = {ALL: _GroupDraft(top), UNGROUPED: _GroupDraft(top)}
        self._hosts: dict[str, _HostDraft] = {}
        self._parents: dict[str, list[str]] = {ALL: [], UNGROUPED: []}

    def error(self, origin: Origin, message: str) -> None:
        self.errors.append(origin.diag(message))

    def has_group(self, name: str) -> bool:
        return name in self._groups

    def declare_group(self, name: str, origin: Origin) -> bool:
        """Make sure group `name` exists; False (and an error) when the name is unusable."""
        if name in self._groups:
            return True
        if not _GROUP_NAME.match(name):
            self.error(
                origin,
                f"invalid group name {name!r}: use letters, digits, '_', '-' and '.' "
                "(host patterns could not name it otherwise)",
            )
            return False
        if _too_long(name):
            self.error(origin, _too_long_message("group", name))
            return False
        self._groups[name] = _GroupDraft(origin)
        self._parents[name] = []
        return True

    def add_host(
        self, name: str, origin: Origin, group: str, host_vars: Mapping[str, Located]
    ) -> None:
        """Add `name` to `group` (declared already); its inline vars merge, later wins."""
        if not name or _HOST_FORBIDDEN.search(name) or name[0] in "!&~":
            self.error(
                origin,
                f"invalid host name {name!r}: no spaces or commas, and no leading '!', '&' or '~' "
                "(write variables as key=value or under the host as a mapping)",
            )
            return
        if _too_long(name):
            self.error(origin, _too_long_message("host", name))
            return
        draft = self._hosts.setdefault(name, _HostDraft(origin))
        draft.vars.update(host_vars)
        if group not in draft.groups:
            draft.groups.add(group)
            self._groups[group].hosts.append(name)

    def add_group_vars(self, group: str, group_vars: Mapping[str, Located]) -> None:
        self._groups[group].vars.update(group_vars)

    def add_child(self, parent: str, child: str, origin: Origin) -> None:
        """Make `child` a child group of `parent` (both declared already)."""
        if child == ALL:
            self.error(origin, f"'all' holds every group; it cannot be a child of {parent!r}")
            return
        if child in self._groups[parent].children:
            return
        loop = self._path_between(child, parent)
        if loop is not None:
            chain = " -> ".join([parent, *loop])
            self.error(origin, f"group {child!r} under {parent!r} makes a loop: {chain}")
            return
        self._groups[parent].children.append(child)
        self._parents[child].append(parent)

    def _path_between(
        self, start: str, goal: str, seen: set[str] | None = None
    ) -> list[str] | None:
        """Child-group path from `start` down to `goal`, if there is one."""
        if start == goal:
            return [start]
        seen = set() if seen is None else seen
        seen.add(start)
        for kid in self._groups[start].children:
            rest = None if kid in seen else self._path_between(kid, goal, seen)
            if rest is not None:
                return [start, *rest]
        return None

    def finish(self) -> InventorySource:
        """The finished source, carrying every problem found (the faulty parts left out)."""
        all_group = self._groups[ALL]
        # Like Ansible: groups nobody else adopts hang off `all`, and hosts that belong to no
        # group but `all` (or an explicit `ungrouped`) are listed in `ungrouped`.
        tops = [UNGROUPED, *all_group.children]
        tops += [g for g, parents in self._parents.items() if g != ALL and not parents]
        lonely = [h for h, d in self._hosts.items() if not d.groups - {ALL, UNGROUPED}]
        groups: dict[str, GroupSource] = {}
        for name, draft in self._groups.items():
            hosts, children = draft.hosts, draft.children
            if name == ALL:
                hosts, children = [], list(dict.fromkeys(tops))
            elif name == UNGROUPED:
                hosts = lonely
            groups[name] = GroupSource(
                name, draft.origin, tuple(hosts), tuple(children), MappingProxyType(draft.vars)
            )
        hosts_out = {
            name: HostSource(name, d.origin, MappingProxyType(d.vars))
            for name, d in self._hosts.items()
        }
        return InventorySource(
            self.path,
            MappingProxyType(hosts_out),
            MappingProxyType(groups),
            tuple(sorted(self.errors)),
        )


# A host or group name names its file in host_vars/ or group_vars/ (`NAME.yaml`), and most
# file systems allow 255 bytes in a file name.
MAX_NAME_BYTES = 250


def _too_long(name: str) -> bool:
    return len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES


def _too_long_message(kind: str, name: str) -> str:
    size = len(name.encode("utf-8", "surrogatepass"))
    return (
        f"{kind} name {name[:40]!r}… is {size} bytes long; at most {MAX_NAME_BYTES} "
        f"(it names a file in {kind}_vars/); give it a shorter alias and set its address"
    )
