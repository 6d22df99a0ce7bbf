"""The local connection: output, input, exit status, timeouts and cancels of a local process."""

from __future__ import annotations

import threading
import time

import pytest

from runner.connections.base import CancelToken, CommandResult, CommandSpec
from runner.connections.local import LocalConnection


def run(
    spec: CommandSpec, timeout: float | None = 10, cancel: CancelToken | None = None
) -> CommandResult:
    return LocalConnection().run(spec, timeout=timeout, cancel=cancel or CancelToken())


def test_output_status_and_newlines_as_text() -> None:
    result = run(CommandSpec(shell="echo out; echo err >&2; printf 'a\\r\\nb\\rc'; exit 3"))
    assert (result.rc, result.stdout, result.stderr) == (3, "out\na\nb\nc", "err\n")
    assert not result.timed_out and not result.cancelled


def test_undecodable_output_is_replaced_not_an_error() -> None:
    assert run(CommandSpec(shell="printf '\\377 x'")).stdout == "\ufffd x"


def test_input_larger_than_a_pipe_goes_through_whole() -> None:
    text = "héllo\n" * 100_000  # 700 kB: many pipe buffers
    result = run(CommandSpec(argv=("cat",), stdin=text))
    assert result.rc == 0 and result.stdout == text


def test_empty_input_and_a_process_that_stops_reading_are_not_errors() -> None:
    assert run(CommandSpec(argv=("cat",), stdin="")).stdout == ""
    result = run(CommandSpec(shell="head -c 3", stdin="x" * 1_000_000))
    assert (result.rc, result.stdout) == (0, "xxx")


def test_a_timeout_kills_the_group_and_keeps_what_it_printed() -> None:
    started = time.monotonic()
    result = run(CommandSpec(shell="echo before; sleep 30 & wait"), timeout=0.5)
    assert result.timed_out and not result.cancelled
    assert result.rc != 0 and result.stdout == "before\n"
    assert time.monotonic() - started < 5


def test_a_cancel_stops_the_process() -> None:
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    result = run(CommandSpec(shell="sleep 30"), timeout=None, cancel=cancel)
    assert result.cancelled and not result.timed_out and result.rc != 0
    assert time.monotonic() - started < 5


def test_output_is_read_until_every_holder_of_the_pipe_closes_it() -> None:
    result = run(CommandSpec(shell="(sleep 0.5; echo late) & echo early"))
    assert (result.rc, result.stdout) == (0, "early\nlate\n")


def test_a_process_that_closes_its_output_is_waited_for() -> None:
    started = time.monotonic()
    result = run(CommandSpec(shell="exec >&- 2>&-; sleep 0.3; exit 4"))
    assert result.rc == 4
    assert time.monotonic() - started >= 0.3


def test_a_missing_program_is_rc_127() -> None:
    result = run(CommandSpec(argv=("/nonexistent/program",)))
    assert result.rc == 127 and "No such file" in result.stderr


def test_a_finished_command_returns_without_sleeping_for_its_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Popen.communicate(timeout=...) sleeps 1 ms or more whenever the process has closed
    # its output but not yet exited, in about one command in three: a cost on every step.
    import subprocess

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s waiting for a finished process")

    monkeypatch.setattr(subprocess.time, "sleep", no_sleep)  # type: ignore[attr-defined]
    for _ in range(60):
        assert run(CommandSpec(argv=("true",))).rc == 0


def test_a_command_sees_the_controllers_environment_and_its_own_env_over_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRILL_INHERITED", "from-controller")
    monkeypatch.setenv("DRILL_OVERRIDDEN", "controller")
    script = 'echo "$DRILL_INHERITED/$DRILL_OVERRIDDEN/${DRILL_OWN-unset}"'
    plain = run(CommandSpec(shell=script))
    assert plain.stdout == "from-controller/controller/unset\n"
    own = run(CommandSpec(shell=script, env={"DRILL_OVERRIDDEN": "step", "DRILL_OWN": "x"}))
    assert own.stdout == "from-controller/step/x\n"
    monkeypatch.delenv("DRILL_INHERITED")
    assert run(CommandSpec(shell=script)).stdout == "/controller/unset\n"
