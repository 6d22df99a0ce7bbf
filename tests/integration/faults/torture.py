"""The kill -9 torture shared by the three targets: seeded random kill points, then recover.

Each point starts the drill, SIGKILLs the runner at a random journal line (and, half the
time, a random fraction of a second later: in the middle of a slow inject or revert), runs
`drillctl recover`, and asks the caller's `faults_left`, which looks at the targets WITHOUT
drillctl (/proc, the docker SDK, iptables -S, checksums), whether anything is left.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.conftest import events, run_drillctl
from tests.integration.faults.crash import journal_lines, run_and_kill_at

POINTS_ENV = "DRILLCTL_TORTURE_POINTS"  # kill points per target; CI runs 20 of each
SEED_ENV = "DRILLCTL_TORTURE_SEED"  # replay a failing run with the seed it printed
DEFAULT_POINTS = 20


def points_per_target() -> int:
    return int(os.environ.get(POINTS_ENV) or DEFAULT_POINTS)


# CI kills at the same points every run, as its fuzzing is derandomised: a red run there is
# the code's, not the draw's. Elsewhere each run draws new points; the seed replays one.
CI_SEED = 436949102


def seed() -> int:
    given = os.environ.get(SEED_ENV)
    if given:
        return int(given)
    if os.environ.get("CI") == "true":
        return CI_SEED
    return random.SystemRandom().randrange(2**31)


@dataclass(frozen=True)
class TortureResult:
    points: int
    caught_in_effect: int  # kills after which a fault was in effect before recover
    in_flight: int  # kills with an inject or revert still running on the target


def torture(
    name: str,
    args: list[str],
    tmp_path: Path,
    faults_left: Callable[[], list[str]],
    *,
    points: int,
    rng_seed: int,
    slow_kind: str,
    landing_s: float,
) -> TortureResult:
    """Run the drill once whole, then kill it at `points` random points, recovering each.

    One more point always lands in the middle of the inject of the first `slow_kind` fault
    (a stop in its grace period, a process taking seconds to exit), so every run proves
    that recover waits such an operation out. After a kill in the middle of an operation,
    the targets are checked again once `landing_s` have passed since the kill: longer than
    any operation takes to land from its beginning, and every operation in flight began
    before the kill.
    """
    print(f"{name}: {points} random kill points + 1 in a slow inject, seed {rng_seed}")
    rng = random.Random(rng_seed)
    full = tmp_path / f"{name}-full"
    whole = run_drillctl("run", *args, "--out", str(full))
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert not faults_left(), "the drill itself left a fault"
    total = journal_lines(full)
    # How long the whole run took to write each line: a killed run may take as long again to
    # reach its kill point (the machine's load is its own), so the wait for that point is
    # bounded by the drill's own pace, not by a fixed figure a busy machine outruns.
    written = [_when(e) for e in events(full)]
    pace = [w - written[0] for w in written]
    intents = [
        n + 1
        for n, e in enumerate(events(full))
        if e["event"] == "fault_intent" and e["kind"] == slow_kind
    ]
    assert intents, f"the drill has no {slow_kind} fault"
    kills = [
        (rng.randint(1, total - 1), rng.choice([0.0, rng.uniform(0.05, 2.5)]))
        for _ in range(points)
    ]
    kills.append((intents[0], 1.0))
    caught = flying = 0
    for n, (line, after) in enumerate(kills):
        where = f"{name} (seed {rng_seed}) point {n}: line {line}/{total} + {after:.2f}s"
        run_dir = tmp_path / f"{name}-kill-{n}"
        run_and_kill_at(args, run_dir, line, timeout=30 + 2 * pace[line - 1], after_s=after)
        killed = time.monotonic()  # just after the kill
        caught += bool(faults_left())
        landing = _in_flight(run_dir)
        flying += landing
        started = time.monotonic()
        rec = run_drillctl("recover", str(run_dir), timeout=180)
        took = time.monotonic() - started
        assert rec.returncode == 0, f"{where}: recover failed: {rec.stdout}{rec.stderr}"
        left = faults_left()
        assert not left, f"{where}: {left} after recover said {rec.stdout!r} in {took:.1f}s"
        if landing:
            # recover said reverted: nothing may land after that. What was in flight lands
            # within `landing_s` of the kill; recover, waiting it out, has spent most of that.
            time.sleep(max(0.0, killed + landing_s - time.monotonic()))
            left = faults_left()
            assert not left, f"{where}: {left} {landing_s}s after the kill: still landing"
    print(f"{name}: {caught} kills caught faults in effect, {flying} mid-operation")
    return TortureResult(len(kills), caught, flying)


def _in_flight(run_dir: Path) -> bool:
    """Whether the journal stops between a fault's intent (or revert) and its end."""
    from runner.faults.outstanding import in_flight
    from runner.journal import read_events

    journal = run_dir / "journal.jsonl"
    return journal.is_file() and bool(in_flight(list(read_events(journal))))


def _when(event: dict[str, object]) -> float:
    """An event's time, in seconds since the epoch."""
    return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).timestamp()
