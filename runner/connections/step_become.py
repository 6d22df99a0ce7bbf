"""A step's own `become`/`become_user`, carried onto every command the step runs.

Actions build their commands without knowing about sudo; the step runner hands them this
wrapper around the host's connection, which marks each command with the step's choice
(the SSH connection then decides with it instead of the host's settings).
"""

from __future__ import annotations

from dataclasses import replace

from runner.connections.base import CancelToken, CommandResult, CommandSpec, Connection


class StepBecome:
    """`inner`, with `become`/`become_user` set on each command that does not set its own."""

    def __init__(self, inner: Connection, become: bool | None, become_user: str | None) -> None:
        self.inner = inner
        self.become = become
        self.become_user = become_user

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        if spec.become is None and spec.become_user is None:
            # As in Ansible, become_user alone changes nothing unless become is on.
            spec = replace(spec, become=self.become, become_user=self.become_user)
        return self.inner.run(spec, timeout=timeout, cancel=cancel)

    def put(self, local_path: str, remote_path: str) -> None:
        self.inner.put(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        self.inner.get(remote_path, local_path)

    def close(self) -> None:
        self.inner.close()
