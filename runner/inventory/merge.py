"""Several inventory sources as one, merged the way Ansible merges `-i a -i b`.

Sources apply in the order given: a host or group named in two sources is one host or
group; its variables from a later source replace the same names from an earlier one; its
hosts and child groups add up, in the order first seen. `ungrouped` and `all`'s children
are worked out again over the merged whole, as Ansible's reconcile step does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from runner.errors import Diagnostic
from runner.inventory.source import (
    ALL,
    UNGROUPED,
    GroupSource,
    HostSource,
    InventorySource,
    Located,
    Origin,
)


@dataclass
class _Group:
    origin: Origin
    hosts: dict[str, None] = field(default_factory=dict)
    children: dict[str, None] = field(default_factory=dict)
    vars: dict[str, Located] = field(default_factory=dict)


def merge_sources(path: str, sources: Sequence[InventorySource]) -> InventorySource:
    """One source holding every host and group of `sources`, later sources winning."""
    if len(sources) == 1:
        return sources[0]
    hosts: dict[str, HostSource] = {}
    groups: dict[str, _Group] = {}
    problems: list[Diagnostic] = []
    for source in sources:
        problems.extend(source.problems)
        for name, host in source.hosts.items():
            before = hosts.get(name)
            merged = {**before.vars, **host.vars} if before else dict(host.vars)
            origin = before.origin if before else host.origin
            hosts[name] = HostSource(name, origin, MappingProxyType(merged))
        for name, group in source.groups.items():
            draft = groups.setdefault(name, _Group(group.origin))
            draft.vars.update(group.vars)
            if name not in (ALL, UNGROUPED):
                draft.hosts.update(dict.fromkeys(group.hosts))
                draft.children.update(dict.fromkeys(group.children))
    problems.extend(_loops(groups))
    return InventorySource(path, MappingProxyType(hosts), _finish(groups, hosts), tuple(problems))


def _finish(
    groups: dict[str, _Group], hosts: dict[str, HostSource]
) -> MappingProxyType[str, GroupSource]:
    grouped = {h for name, g in groups.items() if name not in (ALL, UNGROUPED) for h in g.hosts}
    adopted = {child for g in groups.values() for child in g.children}
    tops = [g for g in groups if g not in (ALL, UNGROUPED) and g not in adopted]
    done: dict[str, GroupSource] = {}
    for name, draft in groups.items():
        members, children = tuple(draft.hosts), tuple(draft.children)
        if name == ALL:
            members, children = (), (UNGROUPED, *tops)
        elif name == UNGROUPED:
            members, children = tuple(h for h in hosts if h not in grouped), ()
        group_vars = MappingProxyType(draft.vars)
        done[name] = GroupSource(name, draft.origin, members, children, group_vars)
    return MappingProxyType(done)


def _loops(groups: dict[str, _Group]) -> list[Diagnostic]:
    """A child group link that two sources made into a loop, reported where it was written."""
    problems: list[Diagnostic] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for child in list(groups[name].children):
            if state.get(child) == 1:
                chain = " -> ".join([*trail[trail.index(child) :], name, child])
                problems.append(groups[name].origin.diag(f"groups make a loop: {chain}"))
                del groups[name].children[child]
            elif child in groups and state.get(child) is None:
                visit(child, [*trail, name])
        state[name] = 2

    for name in list(groups):
        if state.get(name) is None:
            visit(name, [])
    return problems
