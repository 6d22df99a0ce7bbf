"""What a recreated container keeps: its configuration, minus what it inherited from its image."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Copied as they are. The keys in _UNLESS_INHERITED, env, labels, ports, volumes and the
# command are compared with the old image instead: what the container only inherited from
# its image must follow the new image (its APP_VERSION, its labels), not freeze the old one.
_AS_IS = (
    "Domainname",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "StopTimeout",
    "MacAddress",
)
_UNLESS_INHERITED = ("User", "WorkingDir", "StopSignal", "Healthcheck", "Shell")
_NOT_ATTACHABLE = ("host", "none")


def clone_config(
    info: Mapping[str, Any], image_config: Mapping[str, Any], image: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The create request for a copy of `info` running `image`, and networks to join after."""
    old, old_id = info["Config"], info["Id"]
    config = {k: old[k] for k in _AS_IS if old.get(k) not in (None, "")}
    config.update(
        {k: old[k] for k in _UNLESS_INHERITED if old.get(k) and old[k] != image_config.get(k)}
    )
    if old.get("Hostname") and old["Hostname"] != old_id[:12]:  # the engine's default
        config["Hostname"] = old["Hostname"]
    inherited_env = set(image_config.get("Env") or [])
    config["Env"] = [e for e in old.get("Env") or [] if e not in inherited_env]
    image_labels = image_config.get("Labels") or {}
    labels = old.get("Labels") or {}
    config["Labels"] = {k: v for k, v in labels.items() if image_labels.get(k) != v}
    for key in ("ExposedPorts", "Volumes"):
        inherited = image_config.get(key) or {}
        config[key] = {k: v for k, v in (old.get(key) or {}).items() if k not in inherited}
    if old.get("Entrypoint") != image_config.get("Entrypoint"):
        config["Entrypoint"] = old.get("Entrypoint") or [""]  # [""] clears the image's own
        config["Cmd"] = old.get("Cmd")
    elif old.get("Cmd") != image_config.get("Cmd"):
        config["Cmd"] = old["Cmd"]
    config["Image"] = image
    config["HostConfig"] = _host_config(info)
    primary, endpoints = _endpoints(info)
    if primary is not None:
        config["NetworkingConfig"] = {"EndpointsConfig": {primary: endpoints.pop(primary)}}
    return config, {name: _connect_args(ep) for name, ep in endpoints.items()}


def _host_config(info: Mapping[str, Any]) -> dict[str, Any]:
    """HostConfig as it was, with ephemeral host ports pinned and anonymous volumes kept."""
    host = dict(info["HostConfig"])
    host["PortBindings"] = _port_bindings(info)
    host["Mounts"], host["Binds"] = _volumes(info)
    # Inspect shows legacy links as "/db:/web/alias"; create wants "db:alias".
    links = host.get("Links") or []
    host["Links"] = [
        f"{a.lstrip('/')}:{b.rsplit('/', 1)[-1]}" for a, b in (link.split(":") for link in links)
    ] or None
    return host


def _port_bindings(info: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Requested bindings, an ephemeral host port pinned to the one in use.

    Probes and clients that learned the address keep reaching the service after the swap.
    """
    published = (info.get("NetworkSettings") or {}).get("Ports") or {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for port, wanted in (info["HostConfig"].get("PortBindings") or {}).items():
        actual = list(published.get(port) or [])
        bindings[port] = []
        for requested in wanted or []:
            bind = dict(requested)
            ip = bind.get("HostIp", "")
            match = next((a for a in actual if _same_ip(ip, a["HostIp"])), None)
            if bind.get("HostPort") in (None, "", "0") and match is not None:
                bind["HostPort"] = match["HostPort"]
                actual.remove(match)
            bindings[port].append(bind)
    return bindings


def _volumes(info: Mapping[str, Any]) -> tuple[list[dict[str, Any]] | None, list[str] | None]:
    """HostConfig Mounts and Binds, every volume in use named, so none is created afresh."""
    in_use = [m for m in info.get("Mounts") or [] if m.get("Type") == "volume"]
    names = {m["Destination"]: m["Name"] for m in in_use}
    mounts = [dict(m) for m in info["HostConfig"].get("Mounts") or []]
    for mount in mounts:
        if mount.get("Type") == "volume" and not mount.get("Source"):
            mount["Source"] = names.get(mount.get("Target", ""))
    binds = list(info["HostConfig"].get("Binds") or [])
    taken = {b.split(":")[1] for b in binds if ":" in b} | {m.get("Target") for m in mounts}
    for mount in in_use:
        # Volumes from the image's VOLUME or from Config.Volumes are in neither list.
        if mount["Destination"] not in taken:
            mode = "" if mount.get("RW", True) else ":ro"
            binds.append(f"{mount['Name']}:{mount['Destination']}{mode}")
    return mounts or None, binds or None


def _same_ip(wanted: str, actual: str) -> bool:
    return wanted == actual or (wanted in ("", "0.0.0.0") and actual in ("", "0.0.0.0"))


def _endpoints(info: Mapping[str, Any]) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """The network the container is created on, and its endpoint settings per network."""
    mode = info["HostConfig"].get("NetworkMode") or "default"
    if mode in _NOT_ATTACHABLE or mode.startswith("container:"):
        return None, {}
    networks = (info.get("NetworkSettings") or {}).get("Networks") or {}
    short_id = info["Id"][:12]
    endpoints = {
        name: {
            # The engine adds the old short id as an alias; the new container gets its own.
            "Aliases": [a for a in ep.get("Aliases") or [] if a != short_id] or None,
            "IPAMConfig": ep.get("IPAMConfig") or None,
            "Links": ep.get("Links") or None,
            "DriverOpts": ep.get("DriverOpts") or None,
        }
        for name, ep in networks.items()
    }
    primary = "bridge" if mode == "default" else mode
    if primary not in endpoints:  # NetworkMode may hold the network's id
        ids = {ep.get("NetworkID", ""): name for name, ep in networks.items()}
        primary = next((name for nid, name in ids.items() if nid.startswith(mode)), primary)
    return (primary if primary in endpoints else None), endpoints


def _connect_args(endpoint: Mapping[str, Any]) -> dict[str, Any]:
    ipam = endpoint.get("IPAMConfig") or {}
    return {
        "aliases": endpoint.get("Aliases"),
        "links": endpoint.get("Links"),
        "ipv4_address": ipam.get("IPv4Address") or None,
        "ipv6_address": ipam.get("IPv6Address") or None,
        "link_local_ips": ipam.get("LinkLocalIPs") or None,
        "driver_opt": endpoint.get("DriverOpts"),
    }
