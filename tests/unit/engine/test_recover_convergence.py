"""`drillctl recover` in process: which faults it reverts, in which order, how often it
checks, how long it lets a dead runner's operation land, what it journals and reports,
and when it closes the inventory's last-run record.

The target is the scripted fake (tests/fakes/connection.py); recover's clock is a fake one,
so every wait is counted, not slept.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import journal as journal_mod
from runner.connections.base import CommandResult
from runner.connections.pool import ConnectionPool
from runner.engine import last_run as last_run_mod
from runner.engine import recover as recover_mod
from runner.engine.last_run import read_last_run, record_start
from runner.engine.lock import lock_location
from runner.engine.recover import (
    RecoverReport,
    Unreverted,
    _runner_alive,
    _wall,
    recover,
)
from runner.errors import InputError
from runner.faults import ledger as ledger_mod
from runner.faults.base import SHELL, FaultOp, FaultPlan
from runner.journal import JOURNAL_NAME, Journal, read_events, verify_chain
from runner.secrets import SecretMask
from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import write_inventory


def plan(name: str, host: str = "h1", **extra: Any) -> FaultPlan:
    """A marker fault: on while `name` is set on the target, off once reverted."""
    fields: dict[str, Any] = {
        "inject": (FaultOp(SHELL, f"fault-on {name}"),),
        "revert": (FaultOp(SHELL, f"fault-off {name}"),),
        "check": FaultOp(SHELL, f"fault-check {name}"),
        **extra,
    }
    return FaultPlan("custom", host, f"marker {name}", **fields)


class Clock:
    """recover's `time`: sleeping moves both clocks, and every nap is kept."""

    def __init__(self) -> None:
        self.mono = 1024.0
        self.wall = 0.0
        self.naps: list[float] = []

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.mono += seconds
        self.wall += seconds


class NoSleep:
    """The fault ledger's `time` in these tests: it must not wait on recover's behalf."""

    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)

    @staticmethod
    def sleep(seconds: float) -> None:
        raise AssertionError(f"the ledger slept {seconds}s: recover waits for settling itself")


class Run:
    """A dead run's directory: its journal, inventory, lock directory and target."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dir = root / "run"
        self.dir.mkdir()
        self.journal = self.dir / JOURNAL_NAME
        self.inventory = write_inventory(root, {"h1": {}, "h2": {}})
        self.target = FakeTarget()
        self.clock = Clock()
        locks = root / "locks"
        locks.mkdir()
        monkeypatch.setenv("DRILLCTL_LOCK_DIR", str(locks))
        monkeypatch.setattr(recover_mod, "time", self.clock)
        # recover sleeps its settle period itself, once per round, on its own clock.
        monkeypatch.setattr(ledger_mod, "time", NoSleep())
        monkeypatch.setattr(
            recover_mod, "ConnectionPool", lambda: ConnectionPool(self.target.factories())
        )

    def write(self, *events: tuple[str, dict[str, Any]], pid: Any = None) -> None:
        """The journal a runner left: run_started, then `events`, one second apart."""
        stamps = iter(f"2026-12-01T10:00:{s:02d}.000Z" for s in range(60))
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(journal_mod, "utc_now", lambda: next(stamps))
            self._write(events, pid)

    def _write(self, events: tuple[tuple[str, dict[str, Any]], ...], pid: Any) -> None:
        journal = Journal(self.journal, SecretMask())
        journal.record(
            "run_started", run_id="r-1", pid=pid, inventory_path=self.inventory, operator="a"
        )
        for event, fields in events:
            journal.record(event, **fields)
        journal.close()

    def events(self) -> list[dict[str, Any]]:
        return list(read_events(self.journal))

    def added(self, before: int) -> list[tuple[str, dict[str, Any]]]:
        """The events recover appended, without the chain's own fields."""
        skip = {"seq", "event", "time", "mono", "prev", "hash"}
        return [
            (e["event"], {k: v for k, v in e.items() if k not in skip})
            for e in self.events()[before:]
        ]

    def last_wall(self) -> float:
        wall = _wall(self.events()[-1]["time"])
        assert wall is not None
        return wall


def injected(fault_id: str, p: FaultPlan) -> list[tuple[str, dict[str, Any]]]:
    intent = {"fault_id": fault_id, "host": p.host, "kind": p.kind, "summary": p.summary}
    return [
        ("fault_intent", {**intent, "plan": p.to_json()}),
        ("fault_injected", {"fault_id": fault_id}),
    ]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    return Run(tmp_path, monkeypatch)


# -- what recover refuses -----------------------------------------------------------------


def test_a_directory_without_a_journal_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        recover(tmp_path)
    assert str(caught.value) == f"{tmp_path}:1:1: no journal.jsonl here; give a run directory"


def test_a_journal_without_run_started_is_refused(run: Run) -> None:
    journal = Journal(run.journal, SecretMask())
    journal.record("step_started", step="s")
    journal.close()
    with pytest.raises(InputError) as caught:
        recover(run.dir)
    assert str(caught.value) == f"{run.journal}:1:1: the journal has no run_started event"


def sleeper(name: str) -> subprocess.Popen[bytes]:
    """A live `sleep` whose command line is `name 60`, once the kernel shows it so."""
    proc = subprocess.Popen([name, "60"], executable="/bin/sleep")
    deadline = time.monotonic() + 10
    # Popen returns in the middle of exec, before the new command line is in place.
    while Path(f"/proc/{proc.pid}/cmdline").read_bytes() != name.encode() + b"\x0060\x00":
        assert time.monotonic() < deadline, "the sleeper never showed its command line"
        time.sleep(0.005)
    return proc


@pytest.fixture
def alive() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose command line names drillctl, as a runner's does."""
    proc = sleeper("drillctl-runner")
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_run_whose_runner_still_lives_is_refused_unless_forced(
    run: Run, alive: subprocess.Popen[bytes]
) -> None:
    p = plan("x")
    run.target.faults_on.add("x")
    run.write(*injected("f1", p), pid=alive.pid)
    with pytest.raises(InputError) as caught:
        recover(run.dir)
    assert str(caught.value) == (
        f"{run.journal}:1:1: the run is still going (pid {alive.pid}); stop it first, or use "
        "--force"
    )
    assert run.target.names() == []
    report = recover(run.dir, force=True, settle_s=0.0)
    assert report.reverted == ["f1"]


@pytest.mark.parametrize("word", [b"runner", b"drillctl"])
def test_a_live_process_naming_drillctl_or_runner_is_a_runner(word: bytes) -> None:
    proc = sleeper(f"x-{word.decode()}-x")
    try:
        assert _runner_alive({"pid": proc.pid}) is True
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_process_that_is_not_a_runner_or_not_there_is_not_alive() -> None:
    other = sleeper("sleep")
    try:
        assert _runner_alive({"pid": other.pid}) is False
    finally:
        other.kill()
        other.wait(timeout=10)
    assert _runner_alive({"pid": other.pid}) is False  # gone now
    assert _runner_alive({"pid": os.getpid()}) is False  # recover itself (python -m runner)
    assert _runner_alive({"pid": str(other.pid)}) is False
    assert _runner_alive({}) is False


# -- nothing pending ----------------------------------------------------------------------


def test_a_run_with_nothing_pending_is_left_as_it_is_and_its_record_closed(run: Run) -> None:
    p = plan("x")
    run.write(*injected("f1", p), ("fault_reverted", {"fault_id": "f1", "checked": True}), pid=None)
    location = lock_location(run.inventory)
    record_start(location, str(run.dir.resolve()), "r-1", "a")
    before = run.journal.read_bytes()
    report = recover(run.dir)
    assert report == RecoverReport()
    assert run.journal.read_bytes() == before  # running it twice writes nothing
    assert run.target.names() == []
    last = read_last_run(location.last_run)
    assert last is not None and last.closed is True


# -- converging ---------------------------------------------------------------------------


def test_pending_faults_are_reverted_newest_first_checked_again_and_journaled(run: Run) -> None:
    a, b = plan("x"), plan("y", host="h2")
    run.target.faults_on |= {"x", "y"}
    run.write(*injected("f1", a), *injected("f2", b), pid=12345678)
    location = lock_location(run.inventory)
    record_start(location, str(run.dir.resolve()), "r-1", "a")
    before = len(run.events())
    report = recover(run.dir, settle_s=0.25)
    assert report == RecoverReport(pending=["f1", "f2"], reverted=["f2", "f1"])
    assert run.target.snapshot() == [
        ("h2", "fault-off", "y"),
        ("h2", "fault-check", "y"),
        ("h1", "fault-off", "x"),
        ("h1", "fault-check", "x"),
        ("h2", "fault-check", "y"),
        ("h1", "fault-check", "x"),
    ]
    assert run.clock.naps == [0.25]  # one settle for the round, then nothing left to do
    detail = "reverted and checked, again after 0.25s (round 1)"
    assert run.added(before) == [
        ("recover_started", {"pending": ["f1", "f2"], "pid": os.getpid()}),
        ("fault_reverted", {"fault_id": "f2", "checked": True, "detail": detail, "by": "recover"}),
        ("fault_reverted", {"fault_id": "f1", "checked": True, "detail": detail, "by": "recover"}),
        ("recover_finished", {"reverted": ["f2", "f1"], "failed": []}),
    ]
    assert verify_chain(run.journal).ok
    last = read_last_run(location.last_run)
    assert last is not None and last.closed is True


def test_without_a_settle_time_a_revert_is_checked_once(run: Run) -> None:
    run.target.faults_on.add("x")
    run.write(*injected("f1", plan("x")))
    before = len(run.events())
    report = recover(run.dir, settle_s=0.0)
    assert report.reverted == ["f1"]
    assert run.target.names() == ["fault-off x", "fault-check x"]
    assert run.clock.naps == []
    assert run.added(before)[1][1]["detail"] == "reverted and checked, again after 0s (round 1)"


def test_a_fault_back_after_settling_is_reverted_in_the_next_round(run: Run) -> None:
    run.target.faults_on.add("x")
    checks = 0

    def landing(call: Call) -> None:
        nonlocal checks
        if call.word == "fault-check":
            checks += 1
            if checks == 2:  # the first settle check: the dead runner's inject landed again
                run.target.faults_on.add("x")

    run.target.on("x", landing)
    run.write(*injected("f1", plan("x")))
    before = len(run.events())
    report = recover(run.dir, settle_s=0.5)
    assert report.reverted == ["f1"] and report.failed == []
    assert run.target.names() == ["fault-off x", "fault-check x", "fault-check x"] * 2
    assert run.clock.naps == [0.5, 0.5, 0.5]  # settle, retry delay, settle
    assert run.added(before)[1][1]["detail"] == "reverted and checked, again after 0.5s (round 2)"


def test_a_fault_that_stays_is_retried_until_the_deadline_then_reported_for_hands(
    run: Run,
) -> None:
    stuck = plan("x", revert=(FaultOp(SHELL, "ok x"),), manual="undo-x --now")
    plain = plan("y", revert=(FaultOp(SHELL, "fail y"), FaultOp(SHELL, "fail w")))
    run.target.faults_on |= {"x", "y"}
    run.write(*injected("f1", stuck), *injected("f2", plain))
    location = lock_location(run.inventory)
    record_start(location, str(run.dir.resolve()), "r-1", "a")
    before = len(run.events())
    report = recover(run.dir, deadline_s=2.0, settle_s=0.5)
    # A retry every 0.5 s while one more still ends by the deadline: rounds at 0, 0.5, 1,
    # 1.5 and 2 s; the fifth ends past it.
    assert run.clock.naps == [0.5, 0.5, 0.5, 0.5]
    assert run.target.names().count("ok x") == 5
    assert report.reverted == []
    assert report.failed == [
        Unreverted(
            "f2",
            "h1",
            "marker y",
            "fail y: rc 1 ; fail w: rc 1  (5 rounds in 2s)",
            "fail y ; fail w",
        ),
        Unreverted(
            "f1",
            "h1",
            "marker x",
            "the check says the fault is still in effect (5 rounds in 2s)",
            "undo-x --now",
        ),
    ]
    assert run.added(before)[1:] == [
        (
            "fault_revert_failed",
            {
                "fault_id": "f2",
                "detail": "fail y: rc 1 ; fail w: rc 1  (5 rounds in 2s)",
                "manual": "fail y ; fail w",
                "by": "recover",
            },
        ),
        (
            "fault_revert_failed",
            {
                "fault_id": "f1",
                "detail": "the check says the fault is still in effect (5 rounds in 2s)",
                "manual": "undo-x --now",
                "by": "recover",
            },
        ),
        ("recover_finished", {"reverted": [], "failed": ["f2", "f1"]}),
    ]
    last = read_last_run(location.last_run)
    assert last is not None and last.closed is False  # the next run must still be stopped


def test_a_fault_that_stays_gets_two_rounds_even_past_its_deadline(run: Run) -> None:
    run.target.faults_on.add("x")
    run.write(*injected("f1", plan("x", revert=(FaultOp(SHELL, "ok x"),))))
    report = recover(run.dir, deadline_s=0.0, settle_s=0.5)
    assert run.clock.naps == [0.5]
    assert run.target.names().count("ok x") == 2
    assert report.failed[0].why == "the check says the fault is still in effect (2 rounds in 0s)"


def test_a_fault_on_a_host_the_inventory_lost_is_reported_not_reverted(run: Run) -> None:
    gone = plan("x", host="h9")
    run.target.faults_on |= {"x", "z"}
    run.write(*injected("f1", plan("z", host="localhost")), *injected("f2", gone))
    before = len(run.events())
    report = recover(run.dir, settle_s=0.0)
    why = "host h9 is not in the run's inventory"
    assert report.failed == [Unreverted("f2", "h9", "marker x", why, "fault-off x")]
    assert report.reverted == ["f1"]  # localhost is there without being listed; and the
    # fault before the lost one (reverted after it, newest first) is not given up
    assert ("localhost", "fault-off", "z") in run.target.snapshot()
    assert run.added(before)[1] == (
        "fault_revert_failed",
        {"fault_id": "f2", "detail": why, "by": "recover"},
    )


# -- letting a dead runner's operation land -----------------------------------------------


def test_an_operation_in_flight_is_waited_for_up_to_its_settle_time(run: Run) -> None:
    p = plan("x", settle_s=1.0)
    run.target.faults_on.add("x")
    run.write(
        ("step_started", {"step": "s"}),
        ("fault_intent", {"fault_id": "f1", "plan": p.to_json()}),  # inject not ended
    )
    run.clock.wall = run.last_wall() + 0.28766
    before = len(run.events())
    report = recover(run.dir, settle_s=0.0)
    assert run.clock.naps == pytest.approx([0.2, 0.2, 0.2, 0.11234])
    assert report.waited_s == pytest.approx(0.71234)
    assert run.added(before)[1] == ("recover_waited", {"seconds": 0.712})  # to the ms
    assert report.reverted == ["f1"]


def test_a_recover_long_after_the_crash_does_not_wait(run: Run) -> None:
    p = plan("x", settle_s=1.0)
    run.write(("fault_intent", {"fault_id": "f1", "plan": p.to_json()}))
    run.clock.wall = run.last_wall() + 1.0
    before = len(run.events())
    report = recover(run.dir, settle_s=0.0)
    assert run.clock.naps == []
    assert report.waited_s == 0.0
    assert [e for e, _ in run.added(before)][:2] == ["recover_started", "fault_reverted"]


def test_a_wait_of_a_few_milliseconds_is_not_counted(run: Run) -> None:
    p = plan("x", settle_s=1.0)
    run.write(("fault_intent", {"fault_id": "f1", "plan": p.to_json()}))
    run.clock.wall = run.last_wall() + 0.96
    before = len(run.events())
    report = recover(run.dir, settle_s=0.0)
    assert run.clock.naps == pytest.approx([0.04])
    assert report.waited_s == 0.0
    assert "recover_waited" not in [e for e, _ in run.added(before)]


def test_faults_whose_operations_ended_are_not_waited_for(run: Run) -> None:
    p = plan("x", settle_s=1.0)
    run.write(*injected("f1", p))
    run.clock.wall = run.last_wall()
    report = recover(run.dir, settle_s=0.0)
    assert run.clock.naps == []
    assert report.waited_s == 0.0


def test_the_wait_ends_once_the_operation_is_seen_gone(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    marked = FaultOp(SHELL, "# DRILLCTL-OP custom inject tok-1\nfault-on x")
    p = plan("x", inject=(marked,), settle_s=5.0)
    run.write(("fault_intent", {"fault_id": "f1", "plan": p.to_json()}))
    run.clock.wall = run.last_wall()
    answers = iter([0, 0, 1])  # still running twice, then gone
    probed: list[str] = []

    def probe(op: FaultOp, host: Any, pool: Any) -> CommandResult:
        assert isinstance(pool, ConnectionPool)
        assert op.script.startswith("mark=DRILLCTL-")
        probed.append(host.name)
        return CommandResult(next(answers), "", "", 0.0)

    monkeypatch.setattr(recover_mod, "run_op", probe)
    report = recover(run.dir, settle_s=0.0)
    assert probed == ["h1", "h1", "h1"]
    assert run.clock.naps == pytest.approx([0.2, 0.2])
    assert report.waited_s == pytest.approx(0.4)


def test_an_operation_that_cannot_be_probed_is_waited_out(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    marked = FaultOp(SHELL, "# DRILLCTL-OP custom inject tok-1\nfault-on x")
    p = plan("x", host="h9", inject=(marked,), settle_s=0.5)  # no such host to probe on
    run.write(("fault_intent", {"fault_id": "f1", "plan": p.to_json()}))
    run.clock.wall = run.last_wall()
    probed: list[str] = []
    monkeypatch.setattr(recover_mod, "run_op", lambda *a: probed.append("x"))
    report = recover(run.dir, settle_s=0.0)
    assert probed == []
    assert run.clock.naps == pytest.approx([0.2, 0.2, 0.1])
    assert report.waited_s == pytest.approx(0.5)


def test_journal_times_are_read_as_utc() -> None:
    assert _wall("2026-12-01T10:00:00.500Z") == 1796119200.5
    assert _wall("yesterday") is None
    assert _wall(None) is None


def test_an_operation_in_flight_without_a_readable_time_is_not_waited_for(run: Run) -> None:
    p = plan("x", settle_s=1.0)
    run.target.faults_on.add("x")
    run.write(("fault_intent", {"fault_id": "f1", "plan": p.to_json()}))
    text = run.journal.read_text()
    run.journal.write_text(text.replace('"time":"2026-12-01T10:00:01.000Z"', '"time":"soon"'))
    report = recover(run.dir, settle_s=0.0)
    assert run.clock.naps == []
    assert report.waited_s == 0.0
    assert report.reverted == ["f1"]


def test_a_localhost_run_with_nothing_pending_closes_the_localhost_record(run: Run) -> None:
    journal = Journal(run.journal, SecretMask())
    journal.record("run_started", run_id="r-1", pid=None, operator="a")  # no -i: localhost
    journal.close()
    location = lock_location("")
    record_start(location, str(run.dir.resolve()), "r-1", "a")
    assert recover(run.dir) == RecoverReport()
    last = read_last_run(location.last_run)
    assert last is not None and last.closed is True


def test_a_run_whose_inventory_is_gone_and_nothing_pending_is_done(run: Run) -> None:
    # Its record cannot be found (the lock is named after the file): harmless, since the
    # next run reads this run's journal, with no fault left in it.
    run.write(*injected("f1", plan("x")), ("fault_reverted", {"fault_id": "f1"}))
    Path(run.inventory).unlink()
    assert recover(run.dir) == RecoverReport()


def test_a_record_that_cannot_be_rewritten_does_not_fail_the_recover(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    run.write(*injected("f1", plan("x")), ("fault_reverted", {"fault_id": "f1"}))
    record_start(lock_location(run.inventory), str(run.dir.resolve()), "r-1", "a")

    def full(fd: int, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(last_run_mod, "rewrite", full)
    assert recover(run.dir) == RecoverReport()
