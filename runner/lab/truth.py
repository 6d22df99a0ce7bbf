"""Ground truth for measuring the measurements: outages and lost writes, as they really were."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

Body = dict[str, object]


@dataclass(frozen=True)
class Record:
    """One ledger record and when it was acknowledged (monotonic seconds)."""

    seq: int
    acked_at: float

    def as_json(self) -> Body:
        return {"seq": self.seq, "acked_at": self.acked_at}


@dataclass(frozen=True)
class Loss:
    """What `POST /admin/lose` deleted: the ground truth of a drill's lost writes.

    `lost` is oldest first. `newest_survivor` is the newest acknowledged record left, which
    was acknowledged before every lost one: the recovery point (None when nothing is left).
    """

    requested: int
    at_mono: float
    at_wall: float
    lost: tuple[Record, ...]
    newest_survivor: Record | None

    @property
    def rpo_s(self) -> float | None:
        """The RPO of this loss alone (docs/result-json.md): newest lost ack - recovery
        point's ack."""
        if not self.lost:
            return 0.0
        if self.newest_survivor is None:
            return None
        return self.lost[-1].acked_at - self.newest_survivor.acked_at

    def as_json(self) -> Body:
        survivor = self.newest_survivor
        return {
            "requested": self.requested,
            "at_mono": self.at_mono,
            "at_wall": self.at_wall,
            "lost": [r.as_json() for r in self.lost],
            "newest_survivor": None if survivor is None else survivor.as_json(),
            "rpo_s": self.rpo_s,
        }


@dataclass(frozen=True)
class Outage:
    """An admin outage: `/health` fails from `start_mono` (inclusive) to `end_mono`."""

    seconds: float
    start_mono: float
    start_wall: float

    @property
    def end_mono(self) -> float:
        return self.start_mono + self.seconds

    @property
    def end_wall(self) -> float:
        return self.start_wall + self.seconds

    def covers(self, t: float) -> bool:
        return self.start_mono <= t < self.end_mono

    def as_json(self) -> Body:
        return {
            "seconds": self.seconds,
            "start_mono": self.start_mono,
            "end_mono": self.end_mono,
            "start_wall": self.start_wall,
            "end_wall": self.end_wall,
        }


class GroundTruth:
    """The outages and losses ordered through `/admin`, kept in memory for `/admin/truth`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outages: list[Outage] = []
        self._losses: list[Loss] = []

    def start_outage(self, seconds: float) -> Outage:
        # Both clocks read back to back; the outage is defined on the monotonic one.
        outage = Outage(seconds, time.monotonic(), time.time())
        with self._lock:
            self._outages.append(outage)
        return outage

    def outage_at(self, t: float) -> Outage | None:
        with self._lock:
            return next((o for o in reversed(self._outages) if o.covers(t)), None)

    def record_loss(self, loss: Loss) -> None:
        with self._lock:
            self._losses.append(loss)

    def as_json(self) -> Body:
        with self._lock:
            outages, losses = list(self._outages), list(self._losses)
        return {
            "clock": "time.monotonic() (CLOCK_MONOTONIC on Linux: one clock per machine)",
            "pid": os.getpid(),
            "now_mono": time.monotonic(),
            "now_wall": time.time(),
            "outages": [o.as_json() for o in outages],
            "losses": [loss.as_json() for loss in losses],
        }
