"""Connection defaults from the command line (`-u`, `--private-key`, `-b`, `--become-user`).

As in Ansible, they apply to hosts that set nothing themselves: a host's own
`ansible_user`, `ansible_ssh_private_key_file`, `ansible_become` or `ansible_become_user`
(or drillctl's `user`, `ssh_key_file`, `become`, `become_user`) wins over the flag. They
concern SSH hosts only: a local process or a container has no login to choose.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from runner.inventory.model import Host, Inventory


@dataclass(frozen=True)
class ConnectionDefaults:
    """What the command line gives for hosts that do not say."""

    user: str | None = None
    private_key: str | None = None
    become: bool = False
    become_user: str | None = None

    def __bool__(self) -> bool:
        return bool(self.user or self.private_key or self.become or self.become_user)


# Each default, the host variables that override it, and the variable it sets.
_KEYS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("private_key", ("ssh_key_file", "ansible_ssh_private_key_file"), "ssh_key_file"),
    ("become", ("become", "ansible_become"), "become"),
    ("become_user", ("become_user", "ansible_become_user"), "become_user"),
)


def apply_defaults(inventory: Inventory, defaults: ConnectionDefaults) -> Inventory:
    """The inventory with `defaults` filled in on every SSH host that sets none of its own."""
    if not defaults:
        return inventory
    hosts = {name: _host(h, defaults) for name, h in inventory.hosts.items()}
    return replace(inventory, hosts=MappingProxyType(hosts))


def _host(host: Host, defaults: ConnectionDefaults) -> Host:
    if host.connection != "ssh":
        return host
    added: dict[str, Any] = {}
    for field, overriding, name in _KEYS:
        value = getattr(defaults, field)
        if value and not any(key in host.vars for key in overriding):
            added[name] = value
    user = host.user if host.user is not None else defaults.user
    if not added and user == host.user:
        return host
    return replace(host, user=user, vars=MappingProxyType({**host.vars, **added}))
