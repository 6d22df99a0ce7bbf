"""The inventory as `ansible-inventory --list` and `--graph` show it."""

from __future__ import annotations

from typing import Any

from runner.inventory.model import Inventory
from runner.inventory.source import ALL


def to_ansible_list(inv: Inventory) -> dict[str, Any]:
    """The shape of `ansible-inventory --list`, with each group's own `vars` as well.

    Host variables are fully merged; empty keys and empty groups are left out, as Ansible does.
    """
    result: dict[str, Any] = {
        "_meta": {"hostvars": {name: dict(h.vars) for name, h in inv.hosts.items() if h.vars}}
    }
    seen: set[str] = set()
    todo = [ALL]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        group = inv.groups[name]
        entry: dict[str, Any] = {
            "hosts": list(group.hosts),
            "children": list(group.children),
            "vars": dict(group.vars),
        }
        entry = {key: value for key, value in entry.items() if value}
        if entry:
            result[name] = entry
        todo.extend(group.children)
    return result


def render_graph(inv: Inventory) -> str:
    """The shape of `ansible-inventory --graph`: child groups first, then the group's hosts."""
    lines: list[str] = []

    def walk(name: str, depth: int) -> None:
        lines.append(_indent(f"@{name}:", depth))
        group = inv.groups[name]
        for child in group.children:
            walk(child, depth + 1)
        for host in group.hosts:
            lines.append(_indent(host, depth + 1))

    walk(ALL, 0)
    return "\n".join(lines)


def _indent(text: str, depth: int) -> str:
    return "  |" * depth + "--" + text if depth else text
