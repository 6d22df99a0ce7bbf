"""Where and how to reach one SSH host: inventory vars, ~/.ssh/config, ProxyJump.

The bounds every SSH operation keeps (see README.md, Targets) come from here:
`connect_timeout` bounds each of the TCP connect, the banner and the authentication;
a keepalive goes out after `keepalive_interval` seconds without traffic, and a connection
whose data stays unacknowledged for `keepalive_interval * keepalive_count_max` seconds is
closed by the kernel (TCP_USER_TIMEOUT): every command on it ends `unreachable`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.connections.host_keys import STRICT
from runner.connections.ssh_library import enable_match_exec, paramiko
from runner.inventory.model import Host
from runner.vault import OpenedVars

CONNECT_TIMEOUT_S = 10.0
KEEPALIVE_INTERVAL_S = 5.0
KEEPALIVE_COUNT_MAX = 3


@dataclass(frozen=True)
class SshSettings:
    """Everything needed to reach one host, from inventory vars and ~/.ssh/config."""

    label: str
    address: str
    port: int
    user: str | None
    key_files: tuple[str, ...]
    password: str | None
    known_hosts: Path
    host_key_checking: str
    proxy_jump: str | None
    connect_timeout: float
    keepalive_interval: float
    keepalive_count_max: int
    become: bool
    become_user: str
    become_password: str | None

    @property
    def dead_after_s(self) -> float:
        """Silence after which the connection is declared dead (as ServerAliveCountMax)."""
        return self.keepalive_interval * self.keepalive_count_max

    @classmethod
    def for_host(cls, host: Host) -> SshSettings:
        v = OpenedVars(host.vars)  # `ansible_password: !vault |` opens here
        config = _ssh_config_for(host.address)
        key = v.get("ssh_key_file") or v.get("ansible_ssh_private_key_file")
        keys = (str(key),) if key else tuple(config.get("identityfile", ()))
        known = (
            v.get("known_hosts") or os.environ.get("DRILLCTL_KNOWN_HOSTS") or "~/.ssh/known_hosts"
        )
        checking = str(
            v.get("host_key_checking") or os.environ.get("DRILLCTL_HOST_KEY_CHECKING") or STRICT
        )
        return cls(
            label=host.name if host.name == host.address else f"{host.name} ({host.address})",
            address=str(config.get("hostname", host.address)),
            port=int(host.port or config.get("port", 22)),
            user=host.user or config.get("user"),
            key_files=tuple(os.path.expanduser(k) for k in keys),
            password=_opt(
                v.get("password") or v.get("ansible_password") or v.get("ansible_ssh_pass")
            ),
            known_hosts=Path(os.path.expanduser(str(known))),
            host_key_checking=checking,
            proxy_jump=_opt(v.get("proxy_jump") or config.get("proxyjump")),
            connect_timeout=float(v.get("connect_timeout", CONNECT_TIMEOUT_S)),
            keepalive_interval=float(v.get("keepalive_interval", KEEPALIVE_INTERVAL_S)),
            keepalive_count_max=int(v.get("keepalive_count_max", KEEPALIVE_COUNT_MAX)),
            become=bool(v.get("become") or v.get("ansible_become")),
            become_user=str(v.get("become_user") or v.get("ansible_become_user") or "root"),
            become_password=_opt(v.get("become_password") or v.get("ansible_become_password")),
        )


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _ssh_config_for(address: str) -> dict[str, Any]:
    path = Path(os.path.expanduser("~/.ssh/config"))
    if not path.is_file():
        return {}
    enable_match_exec()  # the config may run a `Match exec` command
    config = paramiko.SSHConfig.from_path(str(path))
    return dict(config.lookup(address))


# What a jump host takes from the target's settings (ssh_config may still override).
_JUMP_INHERITS = (
    "known_hosts",
    "host_key_checking",
    "ssh_key_file",
    "ansible_ssh_private_key_file",
)


def jump_host(spec: str, target: Host) -> Host:
    """A Host for `[user@]host[:port]` as ProxyJump writes it."""
    user, _, rest = spec.rpartition("@")
    address, _, port = rest.partition(":")
    return Host(
        name=rest,
        address=address,
        connection="ssh",
        port=int(port) if port else None,
        user=user or None,
        vars={k: v for k, v in target.vars.items() if k in _JUMP_INHERITS},
        groups=(),
    )
