"""Docker API operations of container and network faults, carried out from the controller.

A `FaultOp(via="docker")` names one operation in its `docker` mapping: `op`, `engine`, the
container (`container`, a name or id, else `label`) and the operation's own fields:

  pause, unpause, start (makes it run: unpauses or starts), restart {timeout}, stop {timeout},
  kill {signal}, remove {snapshot}, recreate {snapshot}, check_state {want},
  netns_exec {gone_ok} (runs `op.script` in the container's network namespace).

Reverts may run twice, after a half-applied inject, or from `drillctl recover` in another
process: every operation that a revert uses is a no-op when its work is already done.
The docker SDK is imported only when an operation runs (see runner.connections.docker_targets).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runner.connections.base import CommandResult
from runner.connections.docker_clone import clone_config
from runner.connections.docker_targets import (
    ContainerTarget,
    NoSuchObject,
    docker_client,
    engine_calls,
    engine_url,
)
from runner.faults.base import FaultOp
from runner.inventory.model import Host

NETNS_TIMEOUT_S = 60.0
# The docker CLI's code for "the daemon failed": never taken for a check's "not in effect".
ENGINE_ERROR_RC = 125
WANTED_STATES = ("running", "paused", "stopped", "present", "absent")
_Outcome = tuple[int, str, str]  # rc, stdout, stderr


class OpError(Exception):
    """An operation cannot go on; its message becomes the op's stderr."""


@dataclass(frozen=True)
class _Call:
    """One operation: the engine's low-level API, the container it targets, its fields."""

    api: Any
    target: ContainerTarget
    spec: Mapping[str, Any]
    script: str

    def find(self) -> dict[str, Any] | None:
        """Inspect the target; None when it does not exist.

        A label may match a stopped container here (unlike `resolve_container`): a revert
        has to find the container its inject stopped.
        """
        ref = self.target.ref
        if ref is None:
            found = self.api.containers(all=True, filters={"label": self.target.label})
            if len(found) > 1:
                raise OpError(f"label {self.target.label!r} matches {len(found)} containers")
            if not found:
                return None
            ref = str(found[0]["Id"])
        return self.lookup(self.api.inspect_container, ref)

    def lookup(self, inspect: Callable[[str], Any], ref: str) -> dict[str, Any] | None:
        """`inspect(ref)`, or None when the engine has no such object."""
        try:
            with engine_calls(self.target.engine_url):
                found: dict[str, Any] = inspect(ref)
                return found
        except NoSuchObject:
            return None

    def require(self) -> dict[str, Any]:
        info = self.find()
        if info is None:
            raise OpError("no such container")
        return info


def run_docker_op(op: FaultOp, host: Host) -> CommandResult:
    """Carry out one docker operation; every failure is rc != 0 with stderr, never raised."""
    started = time.monotonic()
    spec = op.docker
    url = str(spec.get("engine") or engine_url(host))
    label = spec.get("label")
    target = ContainerTarget(url, spec.get("container"), str(label) if label else None)
    handler = _HANDLERS.get(str(spec.get("op")))
    if handler is None:
        return CommandResult(2, "", f"unknown docker fault operation {spec.get('op')!r}", 0.0)
    try:
        client = docker_client(url)
        with engine_calls(url):
            rc, out, err = handler(_Call(client.api, target, spec, op.script))
    # A revert must report, never raise: the ledger still has other faults to revert.
    except Exception as exc:
        rc, out, err = (
            ENGINE_ERROR_RC,
            "",
            f"docker {spec.get('op')} {target.describe()} on {url}: {exc}",
        )
    return CommandResult(rc, out, err, time.monotonic() - started)


def _state(info: Mapping[str, Any]) -> str:
    state = info["State"]
    if state.get("Paused"):
        return "paused"
    if state.get("Restarting"):
        return "restarting"
    return "running" if state.get("Running") else "stopped"


def _name(info: Mapping[str, Any]) -> str:
    return str(info["Name"]).lstrip("/")


def _pause(call: _Call) -> _Outcome:
    info = call.require()
    if _state(info) == "paused":
        return 0, f"{_name(info)} is already paused", ""
    call.api.pause(info["Id"])
    return 0, f"paused {_name(info)}", ""


def _unpause(call: _Call) -> _Outcome:
    info = call.require()
    if _state(info) != "paused":
        return 0, f"{_name(info)} is not paused", ""
    call.api.unpause(info["Id"])
    return 0, f"unpaused {_name(info)}", ""


def _start(call: _Call) -> _Outcome:
    info = call.require()
    state = _state(info)
    if state == "paused":
        call.api.unpause(info["Id"])
    elif state == "stopped":
        call.api.start(info["Id"])
    else:
        return 0, f"{_name(info)} is already {state}", ""
    return 0, f"{_name(info)} is running again", ""


def _stop(call: _Call) -> _Outcome:
    info = call.require()
    if _state(info) == "stopped":
        return 0, f"{_name(info)} is already stopped", ""
    call.api.stop(info["Id"], timeout=int(call.spec.get("timeout", 10)))
    return 0, f"stopped {_name(info)}", ""


def _kill(call: _Call) -> _Outcome:
    info = call.require()
    call.api.kill(info["Id"], signal=str(call.spec.get("signal", "SIGKILL")))
    return 0, f"sent {call.spec.get('signal', 'SIGKILL')} to {_name(info)}", ""


def _restart(call: _Call) -> _Outcome:
    info = call.require()
    call.api.restart(info["Id"], timeout=int(call.spec.get("timeout", 10)))
    return 0, f"restarted {_name(info)}", ""


def _remove(call: _Call) -> _Outcome:
    """Snapshot the container's inspect output (durably), then remove it; volumes stay."""
    info = call.require()
    _write_snapshot(str(call.spec["snapshot"]), info)
    call.api.remove_container(info["Id"], force=True)
    return 0, f"removed {_name(info)} (snapshot {call.spec['snapshot']})", ""


def _recreate(call: _Call) -> _Outcome:
    """Recreate a removed container from its snapshot: same name, config and image."""
    path = str(call.spec["snapshot"])
    try:
        with open(path, encoding="utf-8") as f:
            old: dict[str, Any] = json.load(f)["container"]
    except FileNotFoundError:
        # No snapshot: the inject stopped before removing anything, unless the container
        # vanished some other way, which only a person can repair.
        if call.find() is not None:
            return 0, "nothing was removed", ""
        return 1, "", f"no snapshot at {path} and the container is gone: recreate it by hand"
    name, was_running = _name(old), bool(old["State"].get("Running"))
    now = call.lookup(call.api.inspect_container, name)
    if now is not None:  # recreated by an earlier attempt (or by someone else): keep it
        if was_running and _state(now) == "stopped":
            call.api.start(now["Id"])
            return 0, f"started {name}", ""
        return 0, f"{name} exists ({_state(now)}): nothing to recreate", ""
    image = call.lookup(call.api.inspect_image, old["Image"])
    if image is None:
        return 1, "", f"image {old['Image']} of {name} is gone: load it, then revert again"
    # The tag it was created from, unless the tag has moved on since: then the exact image.
    tagged = call.lookup(call.api.inspect_image, old["Config"]["Image"])
    ref = old["Config"]["Image"] if tagged and tagged["Id"] == old["Image"] else old["Image"]
    config, networks = clone_config(old, image.get("Config") or {}, ref)
    new_id = str(call.api.create_container_from_config(config, name)["Id"])
    try:
        for network, endpoint in networks.items():
            call.api.connect_container_to_network(new_id, network, **endpoint)
        if was_running:
            call.api.start(new_id)
    except BaseException:
        # A half-made copy would pass for the real one at the next attempt: remove it.
        with contextlib.suppress(Exception):
            call.api.remove_container(new_id, force=True)
        raise
    return 0, f"recreated {name} as {new_id[:12]}", ""


def _check_state(call: _Call) -> _Outcome:
    want = str(call.spec.get("want"))
    if want not in WANTED_STATES:
        return 2, "", f"check_state: want must be one of {', '.join(WANTED_STATES)}"
    info = call.find()
    state = "absent" if info is None else _state(info)
    matches = state == want or (want == "present" and state != "absent")
    return (0 if matches else 1), state, "" if matches else f"container is {state}, not {want}"


def _netns_exec(call: _Call) -> _Outcome:
    """Run the op's script with the controller's tools inside the container's netns.

    Busybox-sized images carry no iptables or tc, so the controller's run there (nsenter).
    A stopped or removed container took its namespace, and every rule in it, along: with
    `gone_ok` (reverts) that is success.
    """
    url = call.target.engine_url
    if not url.startswith("unix://"):
        return 1, "", f"engine {url} is not on this machine: nsenter needs the container's pid"
    info = call.find()
    pid = int(info["State"].get("Pid") or 0) if info and info["State"].get("Running") else 0
    if not pid:
        if call.spec.get("gone_ok"):
            return 0, "container not running: its network namespace is gone, and the rules", ""
        return 1, "", "container is not running: it has no network namespace"
    try:
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    except OSError as exc:
        return 1, "", f"cannot open the network namespace of pid {pid}: {exc}"
    try:
        # Between inspect and open the container may have died and its pid been reused:
        # holding the fd pins whatever namespace we opened, so confirm it is still ours.
        again = call.find()
        if again is None or int(again["State"].get("Pid") or 0) != pid:
            if call.spec.get("gone_ok"):
                return 0, "container stopped meanwhile: its network namespace is gone", ""
            return 1, "", "container stopped or restarted meanwhile; try again"
        return _run_in_netns(fd, call.script)
    finally:
        os.close(fd)


def _run_in_netns(fd: int, script: str) -> _Outcome:
    argv = ["nsenter", f"--net=/proc/self/fd/{fd}", "/bin/sh", "-c", script]
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            pass_fds=(fd,),
            start_new_session=True,  # its own group, so a timeout kills iptables/tc too
        )
    except OSError as exc:
        return 127, "", f"cannot run nsenter (util-linux) on the controller: {exc}"
    try:
        out, err = proc.communicate(timeout=NETNS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return 124, out, err + f"\ntimed out after {NETNS_TIMEOUT_S:.0f}s"
    return proc.returncode, out, err


def _write_snapshot(path: str, info: Mapping[str, Any]) -> None:
    """Write atomically and fsync: the container is removed right after, for good if lost.

    Mode 0600: inspect output holds the container's environment, secrets included.
    """
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"version": 1, "container": info}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


_HANDLERS: dict[str, Callable[[_Call], _Outcome]] = {
    "pause": _pause,
    "unpause": _unpause,
    "start": _start,
    "stop": _stop,
    "kill": _kill,
    "restart": _restart,
    "remove": _remove,
    "recreate": _recreate,
    "check_state": _check_state,
    "netns_exec": _netns_exec,
}
