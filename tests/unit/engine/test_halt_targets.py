"""Which process `drillctl halt` proves to be a drill, signals, and waits for.

A stand-in drill is a real process whose command line is `drillctl run …` (a shell script
named drillctl) and which holds its run directory's journal open, as a runner does; the
tests write that journal, so every rule of the proof is met or broken on purpose.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.engine import halt as halt_mod
from runner.engine.halt import (
    HALT_FILE,
    HaltSent,
    OtherUsersDrill,
    RunningDrill,
    _already_stopping,
    _cmdline,
    _is_drillctl_run,
    _open_journals,
    drill_at,
    final_event,
    halt,
    inspect,
    lock_holder_pids,
    running_drills,
    wait_until_stopped,
)
from runner.errors import InputError, TargetEnvironmentError

# Holds the journal ($2) open on fd 3 (and $3, if given, on fd 4) and waits on stdin, as a
# runner holds its journal.
SCRIPT = '#!/bin/sh\nexec 3>>"$2"\n[ -z "$3" ] || exec 4>>"$3"\nread _\n'


class Stand:
    """Starts stand-in drills and stops whatever is left of them afterwards."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.script = self.root / "bin" / "drillctl"
        self.script.parent.mkdir()
        self.script.write_text(SCRIPT)
        self.script.chmod(0o755)

    def start(
        self, name: str, *, command: str = "run", also: Path | None = None
    ) -> tuple[subprocess.Popen[bytes], Path]:
        """A stand-in holding NAME/journal.jsonl open (first), and `also` after it."""
        run_dir = self.root / name
        run_dir.mkdir()
        journal = run_dir / "journal.jsonl"
        argv = [str(self.script), command, str(journal), *([str(also)] if also else [])]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE)
        self.procs.append(proc)
        deadline = time.monotonic() + 10
        while not {journal, *([also] if also else [])} <= _fds(proc.pid):
            assert time.monotonic() < deadline, "the stand-in never opened its journal"
            time.sleep(0.005)
        return proc, run_dir

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            if proc.stdin:
                proc.stdin.close()


def _fds(pid: int) -> set[Path]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            found.add(Path(os.readlink(fd)))
    return found


def write_journal(run_dir: Path, *events: dict[str, Any]) -> None:
    with (run_dir / "journal.jsonl").open("a", encoding="utf-8") as f:
        for event in events:
            f.write(json.dumps(event) + "\n")


def started(pid: int, **extra: Any) -> dict[str, Any]:
    return {"event": "run_started", "pid": pid, "run_id": "r-1", "operator": "alice", **extra}


@pytest.fixture
def stand(tmp_path: Path) -> Iterator[Stand]:
    s = Stand(tmp_path)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "locks"
    directory.mkdir()
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(directory))
    return directory


# -- the proof ----------------------------------------------------------------------------


def test_a_process_running_the_drill_of_its_journal_is_proved(stand: Stand) -> None:
    proc, run_dir = stand.start("run-a")
    write_journal(run_dir, started(proc.pid), {"event": "step_started"})
    assert _cmdline(proc.pid) == [
        "/bin/sh",
        str(stand.script),
        "run",
        str(run_dir / "journal.jsonl"),
    ]
    assert _open_journals(proc.pid) == [run_dir / "journal.jsonl"]
    drill = inspect(proc.pid)
    assert drill == RunningDrill(proc.pid, run_dir, "r-1", "alice", "")
    assert inspect(proc.pid, run_dir) == drill


def test_every_journal_the_process_holds_is_looked_at(stand: Stand) -> None:
    wanted = stand.root / "run-y"
    wanted.mkdir()
    proc, first = stand.start("run-x", also=wanted / "journal.jsonl")
    assert _open_journals(proc.pid) == [first / "journal.jsonl", wanted / "journal.jsonl"]
    write_journal(first, {"event": "run_started", "pid": proc.pid + 1})  # not this process's
    write_journal(wanted, started(proc.pid))
    assert inspect(proc.pid) == RunningDrill(proc.pid, wanted, "r-1", "alice", "")
    assert inspect(proc.pid, wanted) == RunningDrill(proc.pid, wanted, "r-1", "alice", "")


def test_a_journal_without_run_id_or_operator_names_the_run_by_its_directory(
    stand: Stand,
) -> None:
    proc, run_dir = stand.start("run-b")
    write_journal(run_dir, {"event": "run_started", "pid": proc.pid})
    assert inspect(proc.pid) == RunningDrill(proc.pid, run_dir, "run-b", "", "")


def test_a_drill_asked_about_another_run_directory_is_not_that_drill(stand: Stand) -> None:
    proc, run_dir = stand.start("run-c")
    other = stand.root / "elsewhere"
    other.mkdir()
    write_journal(run_dir, started(proc.pid))
    assert inspect(proc.pid, other) is None


@pytest.mark.parametrize(
    "first",
    [
        lambda pid: {"event": "run_started", "pid": pid + 1},  # another process's run
        lambda pid: {"event": "step_started", "pid": pid},  # not the run's first event
        lambda pid: {"event": "run_started"},  # no pid at all
    ],
)
def test_a_journal_that_does_not_name_the_process_proves_nothing(stand: Stand, first: Any) -> None:
    proc, run_dir = stand.start("run-d")
    write_journal(run_dir, first(proc.pid))
    assert inspect(proc.pid) is None
    assert inspect(proc.pid, run_dir) is None


def test_an_empty_journal_proves_nothing(stand: Stand) -> None:
    proc, _ = stand.start("run-e")
    assert inspect(proc.pid) is None


def test_a_process_that_is_not_a_drill_run_is_never_a_drill(stand: Stand) -> None:
    proc, run_dir = stand.start("run-f", command="recover")
    write_journal(run_dir, started(proc.pid))
    assert inspect(proc.pid) is None


def test_halt_never_takes_itself_for_a_drill() -> None:
    assert inspect(os.getpid()) is None


def test_a_process_that_is_gone_has_no_command_line_and_no_journals(stand: Stand) -> None:
    proc, run_dir = stand.start("run-g")
    write_journal(run_dir, started(proc.pid))
    proc.kill()
    proc.wait(timeout=10)
    assert _cmdline(proc.pid) == []
    assert _open_journals(proc.pid) == []
    assert inspect(proc.pid) is None


def test_a_script_merely_named_runner_is_not_a_drill_run() -> None:
    # Only `python -m runner run` is: a file called runner next to python's arguments is not.
    assert not _is_drillctl_run(["/usr/bin/python3", "runner", "run", "drill.yml"])


def test_a_process_whose_open_files_cannot_be_read_belongs_to_another_user(
    stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, run_dir = stand.start("run-h")
    write_journal(run_dir, started(proc.pid))
    real = Path.iterdir

    def refuse(self: Path) -> Iterator[Path]:
        if self == Path(f"/proc/{proc.pid}/fd"):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", refuse)
    with pytest.raises(OtherUsersDrill) as caught:
        inspect(proc.pid)
    assert caught.value.pid == proc.pid
    assert str(caught.value) == (
        f"pid {proc.pid} runs as another user: halt cannot prove it is the drill, nor signal "
        "it; run `drillctl halt` as that user or as root"
    )
    assert isinstance(caught.value, TargetEnvironmentError)


# -- already stopping ---------------------------------------------------------------------


def test_a_drill_that_received_a_signal_says_the_first_one_and_its_phase(tmp_path: Path) -> None:
    events = [
        {"event": "run_started"},
        {"event": "interrupt_received", "signal": "SIGINT", "phase": "rollback"},
        {"event": "interrupt_received", "signal": "SIGTERM", "phase": "cleanup"},
    ]
    (tmp_path / HALT_FILE).write_text('{"operator": "bob", "at": "T"}')
    assert _already_stopping(tmp_path, events) == "it received SIGINT during rollback"


@pytest.mark.parametrize("phase", [None, ""])
def test_a_signal_before_any_phase_came_during_start_up(tmp_path: Path, phase: Any) -> None:
    events = [{"event": "interrupt_received", "signal": "SIGTERM", "phase": phase}]
    assert _already_stopping(tmp_path, events) == "it received SIGTERM during start-up"


def test_a_requested_halt_names_who_and_when(tmp_path: Path) -> None:
    events = [{"event": "run_started"}, {"event": "step_started"}]
    (tmp_path / HALT_FILE).write_text('{"operator": "bob", "at": "2026-12-01T10:00:00Z"}')
    assert _already_stopping(tmp_path, events) == "halted by bob at 2026-12-01T10:00:00Z"
    (tmp_path / HALT_FILE).write_text("{}")
    assert _already_stopping(tmp_path, events) == "halted by ? at ?"


@pytest.mark.parametrize("text", ["not json", "[1]", "\xe9t\xe9"])
def test_an_unreadable_halt_marker_still_means_stopping(tmp_path: Path, text: str) -> None:
    (tmp_path / HALT_FILE).write_text(text, encoding="latin-1")
    assert _already_stopping(tmp_path, []) == "a halt was requested"


def test_a_drill_without_signal_or_marker_is_not_stopping(tmp_path: Path) -> None:
    assert _already_stopping(tmp_path, [{"event": "run_started"}]) == ""
    (tmp_path / HALT_FILE).mkdir()  # not a file: no marker
    assert _already_stopping(tmp_path, []) == ""


def test_a_proved_drill_carries_why_it_is_already_stopping(stand: Stand) -> None:
    proc, run_dir = stand.start("run-i")
    write_journal(
        run_dir,
        started(proc.pid),
        {"event": "interrupt_received", "signal": "SIGINT", "phase": "inject"},
    )
    drill = inspect(proc.pid)
    assert drill is not None
    assert drill.stopping == "it received SIGINT during inject"


# -- the lock holders ---------------------------------------------------------------------


def test_lock_holders_are_the_positive_integer_pids_of_readable_lock_records(locks: Path) -> None:
    (locks / "a.lock").write_text('{"pid": 42}')
    (locks / "b.lock").write_text('{"pid": 42}')  # the same runner twice counts once
    (locks / "c.lock").write_text('{"pid": 7}')
    (locks / "d.lock").write_text('{"pid": 0}')
    (locks / "e.lock").write_text('{"pid": -3}')
    (locks / "f.lock").write_text('{"pid": "9"}')
    (locks / "g.lock").write_text("[9]")
    (locks / "h.lock").write_text("{")
    (locks / "i.lock").write_text("")
    (locks / "j.last.json").write_text('{"pid": 11}')  # a last-run record, not a lock
    (locks / "k.lock").write_text('{"pid": 1}')
    assert lock_holder_pids() == [42, 7, 1]


def test_a_lock_record_that_cannot_be_read_is_skipped(locks: Path) -> None:
    (locks / "a.lock").mkdir()
    (locks / "b.lock").write_text('{"pid": 5}')
    assert lock_holder_pids() == [5]


def test_no_lock_directory_means_no_lock_holders(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(tmp_path / "missing"))
    assert lock_holder_pids() == []


def test_running_drills_are_the_proved_lock_holders_in_run_directory_order(
    stand: Stand, locks: Path
) -> None:
    late, late_dir = stand.start("run-z")
    early, early_dir = stand.start("run-a")
    loose, loose_dir = stand.start("run-m")  # holds no lock: not found this way
    for proc, run_dir in ((late, late_dir), (early, early_dir), (loose, loose_dir)):
        write_journal(run_dir, started(proc.pid))
    (locks / "1.lock").write_text(json.dumps({"pid": late.pid}))
    (locks / "2.lock").write_text(json.dumps({"pid": early.pid}))
    (locks / "3.lock").write_text(json.dumps({"pid": os.getpid()}))  # not a drill
    drills, others = running_drills()
    assert [(d.pid, d.run_dir) for d in drills] == [(early.pid, early_dir), (late.pid, late_dir)]
    assert others == []


def test_running_drills_set_apart_the_ones_of_other_users(
    locks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (locks / "1.lock").write_text('{"pid": 101}')
    (locks / "2.lock").write_text('{"pid": 102}')
    (locks / "3.lock").write_text('{"pid": 103}')
    mine = RunningDrill(102, Path("/runs/x"), "x", "alice", "")

    def fake_inspect(pid: int, run_dir: Path | None = None) -> RunningDrill | None:
        if pid == 101:
            raise OtherUsersDrill(pid)
        return mine if pid == 102 else None

    monkeypatch.setattr(halt_mod, "inspect", fake_inspect)
    drills, others = running_drills()
    assert drills == [mine]
    assert [o.pid for o in others] == [101]


# -- a run directory ----------------------------------------------------------------------


def test_the_drill_of_a_run_directory_is_its_runner(stand: Stand) -> None:
    proc, run_dir = stand.start("run-j")
    write_journal(run_dir, started(proc.pid))
    assert drill_at(run_dir) == RunningDrill(proc.pid, run_dir, "r-1", "alice", "")


def _refusal(run_dir: Path) -> str:
    with pytest.raises(InputError) as caught:
        drill_at(run_dir)
    return str(caught.value)


def test_a_directory_without_a_journal_is_not_a_run(tmp_path: Path) -> None:
    assert _refusal(tmp_path) == f"{tmp_path}:1:1: no journal.jsonl here; give a run directory"


@pytest.mark.parametrize(
    "events",
    [
        [{"event": "step_started", "pid": 5}],
        [{"event": "run_started"}],
        [{"event": "run_started", "pid": "5"}],
        [],
    ],
)
def test_a_journal_must_start_with_run_started_and_its_pid(
    tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    (tmp_path / "journal.jsonl").write_text("")
    write_journal(tmp_path, *events)
    assert _refusal(tmp_path) == (
        f"{tmp_path / 'journal.jsonl'}:1:1: the journal has no run_started with a pid"
    )


def test_a_run_that_ended_is_not_running(stand: Stand) -> None:
    proc, run_dir = stand.start("run-k")
    for final in ("run_finished", "interrupted"):
        write_journal(run_dir, started(proc.pid + 1), {"event": "step_started"}, {"event": final})
        assert _refusal(run_dir) == (
            f"{run_dir}:1:1: no drill is running here: it has ended (last event: {final})"
        )
        (run_dir / "journal.jsonl").write_text("")


def test_a_live_pid_that_is_not_the_runner_is_not_signalled(stand: Stand) -> None:
    proc, run_dir = stand.start("run-l")
    write_journal(run_dir, started(os.getpid()), {"event": "step_started"})
    assert _refusal(run_dir) == (
        f"{run_dir}:1:1: no drill is running here: pid {os.getpid()} is not this drill's "
        "runner (nothing was signalled)"
    )
    (run_dir / "journal.jsonl").write_text("")
    write_journal(run_dir, started(os.getpid()), {"step": "no event name"})
    assert "is not this drill's runner" in _refusal(run_dir)


def test_a_runner_that_is_gone_points_at_recover(stand: Stand) -> None:
    proc, run_dir = stand.start("run-n")
    write_journal(run_dir, started(proc.pid), {"event": "fault_injected"})
    proc.kill()
    proc.wait(timeout=10)
    assert _refusal(run_dir) == (
        f"{run_dir}:1:1: no drill is running here: its process (pid {proc.pid}) is gone; "
        f"`drillctl recover {run_dir}` reverts faults"
    )


# -- the signal and the wait --------------------------------------------------------------


def test_halt_writes_its_marker_then_sends_one_sigterm(
    stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, run_dir = stand.start("run-o")
    write_journal(run_dir, started(proc.pid))
    drill = drill_at(run_dir)
    monkeypatch.setattr(halt_mod, "utc_now", lambda: "2026-12-01T10:00:00.000Z")
    sent = halt(drill, "bob")
    assert sent.signalled is True
    assert sent.drill == drill
    assert proc.wait(timeout=10) == -signal.SIGTERM
    marker = json.loads((run_dir / HALT_FILE).read_text(encoding="utf-8"))
    assert marker == {"operator": "bob", "at": "2026-12-01T10:00:00.000Z", "pid": os.getpid()}
    assert not (run_dir / "halt.tmp").exists()
    assert _already_stopping(run_dir, []) == "halted by bob at 2026-12-01T10:00:00.000Z"


def test_a_drill_already_stopping_gets_no_second_signal(stand: Stand) -> None:
    proc, run_dir = stand.start("run-p")
    drill = RunningDrill(proc.pid, run_dir, "r", "alice", "it received SIGINT during rollback")
    sent = halt(drill, "bob")
    assert sent == HaltSent(drill, signalled=False)
    assert not (run_dir / HALT_FILE).exists()
    time.sleep(0.05)
    assert proc.poll() is None


def test_a_drill_that_ended_before_the_signal_leaves_no_marker(stand: Stand) -> None:
    proc, run_dir = stand.start("run-q")
    proc.kill()
    proc.wait(timeout=10)
    drill = RunningDrill(proc.pid, run_dir, "r", "alice", "")
    sent = halt(drill, "bob")
    assert sent == HaltSent(drill, signalled=False)
    assert not (run_dir / HALT_FILE).exists()


def test_a_drill_halt_may_not_signal_is_an_environment_error(
    stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, run_dir = stand.start("run-r")

    def refuse(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    with monkeypatch.context() as patched, pytest.raises(TargetEnvironmentError) as caught:
        patched.setattr(halt_mod.os, "kill", refuse)
        halt(RunningDrill(proc.pid, run_dir, "r", "alice", ""), "bob")
    assert str(caught.value) == (
        f"not allowed to signal pid {proc.pid} (the drill in {run_dir} runs as another "
        "user): run `drillctl halt` as that user or as root"
    )
    assert not (run_dir / HALT_FILE).exists()


def test_a_marker_that_cannot_be_written_stops_the_halt_before_any_signal(stand: Stand) -> None:
    proc, run_dir = stand.start("run-s")
    gone = run_dir / "gone"
    with pytest.raises(TargetEnvironmentError) as caught:
        halt(RunningDrill(proc.pid, gone, "r", "alice", ""), "bob")
    assert str(caught.value).startswith(f"cannot write {gone / HALT_FILE}: ")
    time.sleep(0.05)
    assert proc.poll() is None


def test_waiting_ends_once_the_runner_has_let_go_of_its_journal(stand: Stand) -> None:
    proc, run_dir = stand.start("run-t")
    write_journal(run_dir, started(proc.pid))
    drill = drill_at(run_dir)
    proc.kill()
    proc.wait(timeout=10)
    assert wait_until_stopped(drill, 5.0) is True


def test_waiting_for_a_drill_that_goes_on_times_out(
    stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, run_dir = stand.start("run-u")
    write_journal(run_dir, started(proc.pid))
    drill = drill_at(run_dir)
    clock = [100.0]
    naps: list[float] = []

    def sleep(s: float) -> None:
        naps.append(s)
        clock[0] += s

    monkeypatch.setattr(halt_mod.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(halt_mod.time, "sleep", sleep)
    assert wait_until_stopped(drill, 0.35) is False
    assert naps == [0.1, 0.1, 0.1, 0.1]  # a poll every 100 ms until the deadline
    naps.clear()
    assert wait_until_stopped(drill, 0.0) is False  # checked at once: no nap at the deadline
    assert naps == []


def test_the_final_event_is_the_journals_last(tmp_path: Path) -> None:
    assert final_event(tmp_path) == {}
    write_journal(
        tmp_path,
        {"event": "run_started"},
        {"event": "step_started"},
        {"event": "interrupted", "status": "x"},
    )
    assert final_event(tmp_path) == {"event": "interrupted", "status": "x"}


def test_waiting_is_for_this_run_only(stand: Stand) -> None:
    # The pid may be running another drill by the time it is waited for: this one stopped.
    proc, run_dir = stand.start("run-aa")
    write_journal(run_dir, started(proc.pid))
    other = stand.root / "run-ab"
    other.mkdir()
    assert wait_until_stopped(RunningDrill(proc.pid, other, "r", "alice", ""), 0.0) is True
    assert wait_until_stopped(RunningDrill(proc.pid, run_dir, "r", "alice", ""), 0.0) is False


def test_a_command_line_that_is_not_utf8_is_still_read() -> None:
    proc = subprocess.Popen([b"drill\xffctl", b"60"], executable="/bin/sleep")
    try:
        deadline = time.monotonic() + 10
        while _cmdline(proc.pid) != ["drill\ufffdctl", "60"]:
            assert time.monotonic() < deadline, _cmdline(proc.pid)
            time.sleep(0.005)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_descriptor_closed_while_it_is_read_is_skipped(
    stand: Stand, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, run_dir = stand.start("run-ac")
    real = os.readlink

    def closing(path: Any) -> str:
        if str(path).endswith("/fd/0"):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path)

    monkeypatch.setattr(halt_mod.os, "readlink", closing)
    assert _open_journals(proc.pid) == [run_dir / "journal.jsonl"]


def test_a_runner_pid_now_running_another_drill_is_not_this_runs_drill(stand: Stand) -> None:
    # The pid a stale journal names may since run another drill: halting this run directory
    # must not signal that one.
    proc, other_dir = stand.start("run-v")
    write_journal(other_dir, started(proc.pid))
    stale = stand.root / "run-w"
    stale.mkdir()
    write_journal(stale, started(proc.pid), {"event": "step_started"})
    assert _refusal(stale) == (
        f"{stale}:1:1: no drill is running here: pid {proc.pid} is not this drill's runner "
        "(nothing was signalled)"
    )
