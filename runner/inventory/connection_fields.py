"""How to reach a host, from its merged variables: address, port, user, connection.

Our short names win over Ansible's when both are set; among Ansible's names the current
one wins over the older `ansible_ssh_*` one, as in Ansible. The variables themselves stay
in `Host.vars` under the names they were written with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.errors import Diagnostic
from runner.inventory.source import Located

ADDRESS_KEYS = ("address", "ansible_host", "ansible_ssh_host")
PORT_KEYS = ("port", "ansible_port", "ansible_ssh_port")
USER_KEYS = ("user", "ansible_user", "ansible_ssh_user")
CONNECTION_KEYS = ("connection", "ansible_connection")

CONNECTIONS = {
    "local": "local",
    "ansible.builtin.local": "local",
    "ssh": "ssh",
    "ansible.builtin.ssh": "ssh",
    "smart": "ssh",
    "paramiko": "ssh",
    "paramiko_ssh": "ssh",
    "ansible.builtin.paramiko_ssh": "ssh",
    "docker": "docker",
    "community.docker.docker": "docker",
    "community.docker.docker_api": "docker",
}
LOCALHOST_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ConnectionFields:
    address: str
    connection: str
    port: int | None
    user: str | None


def resolve_connection(
    host: str, host_vars: Mapping[str, Located]
) -> tuple[ConnectionFields, list[Diagnostic], list[Diagnostic]]:
    """The connection fields of `host`, a located diagnostic for each unusable value, and
    the ones that matter only if a drill targets the host.

    A connection kind drillctl does not have (Ansible's `winrm`, `kubectl`, ...) is one of
    the latter: an estate's inventory holds such hosts, and a drill that never targets them
    must still load it, as Ansible does.
    """
    problems: list[Diagnostic] = []
    deferred: list[Diagnostic] = []
    address = _text(host_vars, ADDRESS_KEYS, problems)
    user = _text(host_vars, USER_KEYS, problems)
    port = _port(host_vars, problems)
    connection = _connection(host_vars, deferred)
    if connection is None:
        # Ansible's implicit localhost habit: a bare `localhost` runs here, not over ssh.
        connection = "local" if host == "localhost" and address is None else "ssh"
    return ConnectionFields(address or host, connection, port, user), problems, deferred


def _first(host_vars: Mapping[str, Located], keys: tuple[str, ...]) -> tuple[str, Located] | None:
    for key in keys:
        found = host_vars.get(key)
        if found is not None and found.value is not None:
            return key, found
    return None


def _text(
    host_vars: Mapping[str, Located], keys: tuple[str, ...], problems: list[Diagnostic]
) -> str | None:
    found = _first(host_vars, keys)
    if found is None:
        return None
    key, item = found
    if not isinstance(item.value, str) or not item.value.strip():
        problems.append(item.origin.diag(f"{key} must be a non-empty string, got {_show(item)}"))
        return None
    return item.value


def _port(host_vars: Mapping[str, Located], problems: list[Diagnostic]) -> int | None:
    found = _first(host_vars, PORT_KEYS)
    if found is None:
        return None
    key, item = found
    value: Any = item.value
    # isdecimal, not isdigit: '¹' is a digit that int() refuses.
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 5:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        problems.append(
            item.origin.diag(f"{key} must be a port number from 1 to 65535, got {_show(item)}")
        )
        return None
    return value


def _connection(host_vars: Mapping[str, Located], problems: list[Diagnostic]) -> str | None:
    found = _first(host_vars, CONNECTION_KEYS)
    if found is None:
        return None
    key, item = found
    kind = CONNECTIONS.get(item.value) if isinstance(item.value, str) else None
    if kind is None:
        problems.append(
            item.origin.diag(
                f"{key}: unknown connection {_show(item)}; use 'local', 'ssh' or 'docker'"
            )
        )
        return str(item.value)  # kept as written: refused only where a drill targets it
    return kind


def _show(item: Located) -> str:
    return (
        repr(item.value) if isinstance(item.value, (str, int, float)) else type(item.value).__name__
    )
