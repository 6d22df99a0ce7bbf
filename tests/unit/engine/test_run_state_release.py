"""The end of what deploy actions kept on a target (snapshots, backups): each host's state
directory is removed, or kept with the reason, and the journal and the terminal say which.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.actions.state import host_state_dir, release_script
from runner.connections.base import CancelToken, CommandResult, CommandSpec
from runner.connections.pool import ConnectionPool, HostUnreachable
from runner.engine.undo import RELEASE_TIMEOUT_S, UndoStack, release_run_state
from runner.inventory.model import Host
from runner.journal import Journal, read_events
from runner.secrets import SecretMask


class Target:
    """Answers the release command per host: a result, or an exception to raise."""

    def __init__(self, answers: dict[str, CommandResult | Exception]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, float | None, bool]] = []

    def factories(self) -> dict[str, Any]:
        return {"local": self.connection}

    def connection(self, host: Host) -> Any:
        target = self

        class Conn:
            def connect(self, cancel: CancelToken | None = None) -> None:
                answer = target.answers[host.name]
                if isinstance(answer, HostUnreachable):
                    raise answer

            def run(
                self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
            ) -> CommandResult:
                target.calls.append((host.name, str(spec.shell), timeout, cancel.cancelled))
                answer = target.answers[host.name]
                if isinstance(answer, Exception):
                    raise answer
                return answer

            def close(self) -> None:
                pass

        return Conn()


def host(name: str) -> Host:
    return Host(name, name, "local", None, None, {}, ("all",))


def variables(name: str, **extra: Any) -> dict[str, Any]:
    return {"inventory_hostname": name, "run_id": "r-1", **extra}


def release(
    tmp_path: Path,
    answers: dict[str, CommandResult | Exception],
    keep: dict[str, str],
    host_vars: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[tuple[str, dict[str, Any]]], list[str], Target]:
    stack = UndoStack(stateful=set(answers) | set(keep))
    hosts = {name: host(name) for name in stack.stateful}
    target = Target(answers)
    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    notices: list[str] = []
    release_run_state(
        stack,
        hosts,
        host_vars if host_vars is not None else {n: variables(n) for n in stack.stateful},
        ConnectionPool(target.factories()),
        journal,
        lambda name: keep.get(name, ""),
        notices.append,
    )
    journal.close()
    skip = {"seq", "time", "mono", "prev", "hash", "event"}
    events = [
        (e["event"], {k: v for k, v in e.items() if k not in skip})
        for e in read_events(tmp_path / "journal.jsonl")
    ]
    return events, notices, target


def path_of(name: str) -> str:
    return host_state_dir(variables(name))


def test_each_hosts_state_is_removed_in_host_order(tmp_path: Path) -> None:
    ok = CommandResult(0, "", "", 0.1)
    events, notices, target = release(tmp_path, {"web2": ok, "web1": ok}, {})
    assert target.calls == [
        ("web1", release_script(path_of("web1")), RELEASE_TIMEOUT_S, False),
        ("web2", release_script(path_of("web2")), RELEASE_TIMEOUT_S, False),
    ]
    assert RELEASE_TIMEOUT_S == 30.0
    assert events == [
        ("run_state_removed", {"host": "web1", "path": path_of("web1")}),
        ("run_state_removed", {"host": "web2", "path": path_of("web2")}),
    ]
    assert notices == []


def test_state_a_rollback_may_still_need_is_kept_with_the_reason(tmp_path: Path) -> None:
    events, notices, target = release(tmp_path, {}, {"db1": "the rollback failed"})
    assert target.calls == []
    path = path_of("db1")
    assert events == [
        ("run_state_kept", {"host": "db1", "path": path, "reason": "the rollback failed"})
    ]
    assert notices == [f"db1: kept {path} (snapshots and backups): the rollback failed"]


def test_a_release_that_fails_keeps_the_state_and_says_why(tmp_path: Path) -> None:
    answers: dict[str, CommandResult | Exception] = {
        "a": CommandResult(1, "", "  rm: cannot remove: busy \n", 0.1),
        "b": CommandResult(3, "", "", 0.1),
        "c": HostUnreachable("c: connection refused"),
        "d": RuntimeError("boom"),
    }
    events, notices, _ = release(tmp_path, answers, {})
    why = {
        "a": "rm: cannot remove: busy",
        "b": "exit 3",
        "c": "unreachable: c: connection refused",
        "d": "RuntimeError: boom",
    }
    assert events == [
        ("run_state_kept", {"host": n, "path": path_of(n), "reason": why[n]}) for n in "abcd"
    ]
    assert notices == [f"{n}: could not remove {path_of(n)}: {why[n]}" for n in "abcd"]


def test_a_host_whose_state_directory_was_refused_kept_nothing(tmp_path: Path) -> None:
    ok = CommandResult(0, "", "", 0.1)
    host_vars = {"a": variables("a", drillctl_state_dir="relative"), "b": variables("b")}
    events, notices, target = release(tmp_path, {"a": ok, "b": ok}, {}, host_vars)
    assert [c[0] for c in target.calls] == ["b"]
    assert events == [("run_state_removed", {"host": "b", "path": path_of("b")})]


def test_kept_state_on_one_host_does_not_keep_the_next_hosts(tmp_path: Path) -> None:
    ok = CommandResult(0, "", "", 0.1)
    events, _, target = release(tmp_path, {"b": ok}, {"a": "the rollback did not run"})
    assert [c[0] for c in target.calls] == ["b"]
    assert [e for e, _ in events] == ["run_state_kept", "run_state_removed"]


def test_a_host_without_variables_still_has_its_state_released(tmp_path: Path) -> None:
    ok = CommandResult(0, "", "", 0.1)
    events, _, target = release(tmp_path, {"a": ok}, {}, host_vars={})
    assert [c[0] for c in target.calls] == ["a"]
    [(event, fields)] = events
    assert event == "run_state_removed"
    assert fields["path"].startswith("/var/tmp/drillctl/no-run-")
