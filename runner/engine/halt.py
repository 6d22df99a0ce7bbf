"""Stopping running drills the safe way: one SIGTERM each, after proving who gets it.

A drill is found through the inventory lock its process holds, or through the run
directory it writes. Before any signal, the process is proved to be that drill: its
command line is a `drillctl run`, it holds RUN_DIR/journal.jsonl open, and that
journal's `run_started` names its pid. Anything else is left alone.

One SIGTERM is the first row of the interrupt matrix: the running change step stops,
faults are reverted, the rollback runs (or, if it is running, finishes), cleanup runs and
the reports are written. A drill that already received a signal is not sent another one,
since a second signal would skip the rest of its rollback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import InputError, TargetEnvironmentError
from runner.journal import JOURNAL_NAME, read_events, utc_now
from runner.journal_events import FINAL_EVENTS, Event

HALT_FILE = "halt.json"  # written into the run directory before the signal is sent
POLL_S = 0.1


@dataclass(frozen=True)
class RunningDrill:
    """A drill process, proved to be running the drill of `run_dir`."""

    pid: int
    run_dir: Path
    run_id: str
    operator: str
    stopping: str  # why it is already stopping ("" when it is not): a signal, a halt


@dataclass(frozen=True)
class HaltSent:
    drill: RunningDrill
    signalled: bool  # False: it was already stopping, no second signal was sent


def lock_holder_pids() -> list[int]:
    """Pids named by the inventory lock files of this controller (the lock's `pid` field).

    The one place that knows where the locks live; a pid found here is only a candidate
    until `inspect` proves it is a drill.
    """
    from runner.engine.safety import lock_dir

    pids: list[int] = []
    try:
        paths = sorted(lock_dir().glob("*.lock"))
    except OSError:
        return pids
    for path in paths:
        try:
            pid = json.loads(path.read_text(encoding="utf-8")).get("pid")
        except (OSError, ValueError, AttributeError):
            continue  # being written, unreadable or not ours: not a running drill we can prove
        if isinstance(pid, int) and pid > 0 and pid not in pids:
            pids.append(pid)
    return pids


class OtherUsersDrill(TargetEnvironmentError):
    """The process cannot be inspected (nor signalled) by this user."""

    def __init__(self, pid: int) -> None:
        super().__init__(
            f"pid {pid} runs as another user: halt cannot prove it is the drill, nor signal "
            "it; run `drillctl halt` as that user or as root"
        )
        self.pid = pid


def running_drills() -> tuple[list[RunningDrill], list[OtherUsersDrill]]:
    """Every drill running on this controller that this user can halt, and the lock
    holders this user cannot inspect (other users' drills)."""
    found: list[RunningDrill] = []
    others: list[OtherUsersDrill] = []
    for pid in lock_holder_pids():
        try:
            drill = inspect(pid)
        except OtherUsersDrill as exc:
            others.append(exc)
            continue
        if drill is not None:
            found.append(drill)
    return sorted(found, key=lambda d: str(d.run_dir)), others


def drill_at(run_dir: Path) -> RunningDrill:
    """The drill running in `run_dir`, or InputError saying why there is none."""
    journal = run_dir / JOURNAL_NAME
    if not journal.is_file():
        raise InputError.at(str(run_dir), 1, 1, "no journal.jsonl here; give a run directory")
    events = _events(journal)
    started = events[0] if events and events[0].get("event") == Event.RUN_STARTED else None
    if started is None or not isinstance(started.get("pid"), int):
        raise InputError.at(str(journal), 1, 1, "the journal has no run_started with a pid")
    drill = inspect(started["pid"], run_dir)
    if drill is None:
        pid, last = started["pid"], events[-1].get("event", "?")
        if last in FINAL_EVENTS:
            why = f"it has ended (last event: {last})"
        elif Path(f"/proc/{pid}").exists():
            why = f"pid {pid} is not this drill's runner (nothing was signalled)"
        else:
            why = f"its process (pid {pid}) is gone; `drillctl recover {run_dir}` reverts faults"
        raise InputError.at(str(run_dir), 1, 1, f"no drill is running here: {why}")
    return drill


def inspect(pid: int, run_dir: Path | None = None) -> RunningDrill | None:
    """The drill process `pid` runs, proved (see the module's docstring), or None.

    Raises OtherUsersDrill when a drill runner's open files cannot be read by this user.
    """
    if pid == os.getpid() or not _is_drillctl_run(_cmdline(pid)):
        return None
    want = run_dir.resolve() if run_dir is not None else None
    for journal in _open_journals(pid):
        if want is not None and journal.parent != want:
            continue
        events = _events(journal)
        started = events[0] if events else {}
        if started.get("event") != Event.RUN_STARTED or started.get("pid") != pid:
            continue
        return RunningDrill(
            pid,
            journal.parent,
            str(started.get("run_id", journal.parent.name)),
            str(started.get("operator", "")),
            _already_stopping(journal.parent, events),
        )
    return None


def halt(drill: RunningDrill, operator: str) -> HaltSent:
    """Send `drill` one SIGTERM, unless it is already stopping (no second signal, ever)."""
    if drill.stopping:
        return HaltSent(drill, signalled=False)
    marker = drill.run_dir / HALT_FILE
    tmp = marker.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps({"operator": operator, "at": utc_now(), "pid": os.getpid()}))
        os.replace(tmp, marker)
    except OSError as exc:
        raise TargetEnvironmentError(f"cannot write {marker}: {exc}") from None
    try:
        os.kill(drill.pid, signal.SIGTERM)
    except ProcessLookupError:
        marker.unlink(missing_ok=True)  # it ended between the proof and the signal
        return HaltSent(drill, signalled=False)
    except PermissionError:
        marker.unlink(missing_ok=True)
        raise TargetEnvironmentError(
            f"not allowed to signal pid {drill.pid} (the drill in {drill.run_dir} runs as "
            "another user): run `drillctl halt` as that user or as root"
        ) from None
    return HaltSent(drill, signalled=True)


def wait_until_stopped(drill: RunningDrill, timeout_s: float) -> bool:
    """Wait until the drill's process has closed its journal (or died); False on timeout."""
    deadline = time.monotonic() + timeout_s
    while inspect(drill.pid, drill.run_dir) is not None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def final_event(run_dir: Path) -> dict[str, Any]:
    """The journal's last event (`interrupted` after a halt), or {} if it cannot be read."""
    events = _events(run_dir / JOURNAL_NAME)
    return events[-1] if events else {}


# -- proving a process is a drill ------------------------------------------------------


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _is_drillctl_run(argv: list[str]) -> bool:
    """`drillctl run …` or `python -m runner run …`: a drill runner, and nothing else."""
    for i, arg in enumerate(argv[:3]):
        if os.path.basename(arg) == "drillctl":
            return argv[i + 1 : i + 2] == ["run"]
        if arg == "-m" and argv[i + 1 : i + 2] == ["runner"]:
            return argv[i + 2 : i + 3] == ["run"]
    return False


def _open_journals(pid: int) -> list[Path]:
    """Journals the process holds open (a drill keeps its journal open while it runs)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    journals = []
    try:
        fds = list(fd_dir.iterdir())
    except PermissionError:
        raise OtherUsersDrill(pid) from None
    except OSError:
        return []  # the process is gone
    for fd in fds:
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.endswith("/" + JOURNAL_NAME):
                journals.append(Path(target))
    return journals


def _events(journal: Path) -> list[dict[str, Any]]:
    try:
        return list(read_events(journal))
    except OSError:
        return []


def _already_stopping(run_dir: Path, events: list[dict[str, Any]]) -> str:
    signals = [e for e in events if e.get("event") == Event.INTERRUPT_RECEIVED]
    if signals:
        first = signals[0]
        return f"it received {first.get('signal')} during {first.get('phase') or 'start-up'}"
    marker = run_dir / HALT_FILE
    if marker.is_file():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            return f"halted by {info.get('operator', '?')} at {info.get('at', '?')}"
        except (OSError, ValueError, AttributeError):
            return "a halt was requested"
    return ""
