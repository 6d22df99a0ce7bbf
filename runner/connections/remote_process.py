"""The command on an SSH host as a process group: the command line that announces its
group and runs it (with sudo when it becomes), its output read off the channel, and the
kill of the whole group over a second channel when it times out or is cancelled.

sshd runs the command in a shell that leads its own session, so `$$` is the process group
of everything the command starts; the command line prints it on stderr first, and the
kill takes it from there.
"""

from __future__ import annotations

import re
import shlex
import time

from runner.connections.base import CommandSpec
from runner.connections.ssh_library import paramiko
from runner.connections.ssh_settings import SshSettings
from runner.connections.watchdog import WATCHDOG

PGID_MARK = b"drillctl-pgid"
# With a become password: sudo's prompt, and what the shell sudo starts says first (see
# runner.connections.sudo_password).
PROMPT = b"[drillctl-sudo-password]"
BECAME = b"drillctl-became\n"
# The longest wait on stdout alone while draining to the end of output (see drain).
EOF_WAIT_S = 0.01
_PGID_LINE = re.compile(rb"^drillctl-pgid (\d+)\n", re.MULTILINE)


def becomes(spec: CommandSpec, settings: SshSettings) -> bool:
    """Whether this command runs with sudo: the step's own `become`, else the host's."""
    return settings.become if spec.become is None else spec.become


def command_line(spec: CommandSpec, settings: SshSettings) -> str:
    """Announce the process group on stderr, then exec the command in its place."""
    inner = (
        f"{shlex.quote(spec.executable)} -c {shlex.quote(spec.shell)}"
        if spec.shell is not None
        else shlex.join(spec.argv or ())
    )
    if spec.env:
        pairs = " ".join(shlex.quote(f"{k}={v}") for k, v in spec.env.items())
        inner = f"env {pairs} {inner}"
    if becomes(spec, settings):
        user = shlex.quote(spec.become_user or settings.become_user)
        if settings.become_password:
            # The password goes to sudo only when it prompts; the command's input only once
            # the shell sudo started has said so.
            inner = f"printf '{BECAME.decode().strip()}\\n' >&2; exec {inner}"
            flags = f"-S -p '{PROMPT.decode()}'"
        else:
            flags = "-n"
        inner = f"sudo {flags} -u {user} -- /bin/sh -c {shlex.quote(inner)}"
    prefix = f"cd {shlex.quote(spec.cwd)} && " if spec.cwd else ""
    return f"printf '{PGID_MARK.decode()} %s\\n' $$ >&2; {prefix}exec {inner}"


def split_pgid(err: bytes) -> tuple[int | None, bytes]:
    """The announced process group, and stderr without the announcement."""
    match = _PGID_LINE.search(err)
    if match is None:
        return None, err
    return int(match.group(1)), err[: match.start()] + err[match.end() :]


def kill_group(
    transport: paramiko.Transport,
    channel: paramiko.Channel,
    out: bytearray,
    err: bytearray,
    until: float,
) -> bool:
    """Kill the command's process group by `until`; False when the host did not answer."""
    pgid = None
    wait_pgid = min(until, time.monotonic() + 1.0)
    while pgid is None and time.monotonic() < wait_pgid:
        pgid, _ = split_pgid(bytes(err))
        if pgid is None:
            time.sleep(0.01)
            drain(channel, out, err)
    if pgid is None:
        return True  # the command never started; closing the channel is all there is to do
    # TERM the group, give it a moment, then KILL what is left. (No `kill -0` wait loop:
    # the dead shell stays a zombie in the group until sshd reaps it.)
    script = (
        f"kill -TERM -- -{pgid} 2>/dev/null; sleep 0.2; kill -KILL -- -{pgid} 2>/dev/null; true"
    )
    try:
        killer = transport.open_session(timeout=max(0.1, until - time.monotonic()))
    except (paramiko.SSHException, EOFError, OSError):
        return False
    with WATCHDOG.guard(None, until, killer.close):
        try:
            killer.exec_command(script)
            killer.status_event.wait(max(0.0, until - time.monotonic()))
        except (paramiko.SSHException, EOFError, OSError):
            pass  # the kill got no further; the session was open, so the host answered
        finally:
            killer.close()
    return True


def drain(
    channel: paramiko.Channel, out: bytearray, err: bytearray, until: float | None = None
) -> None:
    """Take what output has arrived; with `until`, keep reading to end of output, by then."""
    while True:
        progressed = False
        while channel.recv_ready():
            out.extend(channel.recv(65536))
            progressed = True
        while channel.recv_stderr_ready():
            err.extend(channel.recv_stderr(65536))
            progressed = True
        if until is None or progressed:
            if until is None:
                return
            continue
        if channel.eof_received or channel.closed:
            return
        left = until - time.monotonic()
        if left <= 0:
            return
        # The exit status often comes before the end of output (one command in five here):
        # wait on the output buffer, which paramiko wakes at once with data or at the end of
        # output, rather than sleeping in steps; briefly, so stderr is read meanwhile too.
        channel.settimeout(min(left, EOF_WAIT_S))
        try:
            out.extend(channel.recv(65536))
        except TimeoutError:
            continue
