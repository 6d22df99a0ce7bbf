"""The become password, given to sudo only when sudo asks for it.

sudo reads the password from stdin (`-S`); written there up front, it reaches the command
itself whenever sudo does not ask (a NOPASSWD rule, a cached credential, an account that is
root already), and a command that reads its input (`cat > file`, a database client) takes
the password as data. So the command line (written by runner.connections.remote_process)
has sudo prompt with a mark of ours, and has the shell sudo starts announce, before anything
else runs, that the command is about to start. The password is sent only after the prompt
was seen, the command's own input only after the announcement. A second prompt means the
password was refused: the input is closed, so sudo ends with its error and never reads the
command's input as another try.
"""

from __future__ import annotations

import time

from runner.connections.base import CancelToken
from runner.connections.remote_process import BECAME, PROMPT, drain
from runner.connections.ssh_library import paramiko

WAIT_S = 0.005  # between looks at stderr while sudo decides


def answer_sudo(
    channel: paramiko.Channel,
    out: bytearray,
    err: bytearray,
    password: str,
    until: float | None,
    cancel: CancelToken,
) -> bool:
    """Give sudo the password if it asks; True once the command started under sudo.

    False when it did not start: the password was refused (stdin is closed then), the
    command ended, or the deadline or a cancel came first (the caller's wait handles those).
    """
    sent = False
    while True:
        drain(channel, out, err)
        prompts = err.count(PROMPT)
        if BECAME in err:
            return True
        if prompts > 1:  # refused: end sudo's tries here, with the command's input unsent
            channel.shutdown_write()
            return False
        if prompts == 1 and not sent:
            channel.sendall((password + "\n").encode())
            sent = True
        if channel.status_event.is_set() or channel.closed or cancel.cancelled:
            return False
        if until is not None and time.monotonic() >= until:
            return False
        time.sleep(WAIT_S)


def without_handshake(err: bytes) -> bytes:
    """stderr without sudo's prompts and the announcement (sudo ends a prompt with a newline
    of its own once it has read the answer)."""
    err = err.replace(PROMPT + b"\n", b"").replace(PROMPT, b"")
    return err.replace(BECAME, b"", 1)
