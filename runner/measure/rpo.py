"""Data loss: which data-probe writes survived the incident, judged Jepsen set-checker style.

The data probe writes sequence numbers and, after recovery, reads back the ones present.
Each write attempt is put in one class by its outcome and the read-back:

    stable     acknowledged, present
    lost       acknowledged, absent: data loss
    recovered  outcome unknown (error or timeout), present: it was applied after all
    failed     outcome unknown, absent: never applied; not data loss, since the client
               was never told it succeeded
    unexpected present, but never attempted (the store holds a record nobody wrote)

and `duplicated` lists the sequence numbers present more than once, whatever their class.

Only writes sent inside the measurement window are judged: one sent before it opened
(while prepare brought the baseline, which may reset the store) is `not_judged`. And a
read-back can only judge writes that were over before it: a write sent after the read
(`ReadBack.t`) is not judged at all (`not_judged`), and one acknowledged after it counts as
of unknown outcome, since its absence may only mean the read came first.

RPO (docs/result-json.md): 0 if nothing was lost; else the ack time of the newest lost write
minus the ack time of the newest stable write acknowledged before the oldest lost one (the recovery
point: the store kept everything up to it). Writes are ordered by ack time, and "oldest" and
"newest" refer to it. When no stable write precedes the oldest lost one, the store kept
nothing the probe wrote, and the recovery point is somewhere before the probe's first
write: the RPO is then measured from the send time of the probe's first acknowledged
write (which is then the oldest lost write), the earliest moment its data can have existed.
That figure is a lower bound of the true RPO, and `rpo_lower_bound` says so.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from runner.measure.samples import ReadBack, WriteAttempt

CLASSES = ("stable", "lost", "recovered", "failed", "duplicated", "unexpected")


@dataclass(frozen=True)
class DataLoss:
    """The data probe's verdict: sequence numbers per class (ascending), and the figures.

    `lost_writes` is the number of lost writes (None when the read-back failed). `rpo_s` is
    None when it cannot be measured: a failed read-back, or no acknowledged write to judge.
    `rpo_from` and `rpo_to` are the two ack (or send) times the RPO is the difference of.
    """

    probe: str
    stable: tuple[int, ...]
    lost: tuple[int, ...]
    recovered: tuple[int, ...]
    failed: tuple[int, ...]
    duplicated: tuple[int, ...]
    unexpected: tuple[int, ...]
    not_judged: tuple[int, ...]
    lost_writes: int | None
    rpo_s: float | None
    rpo_from: float | None
    rpo_to: float | None
    rpo_lower_bound: bool
    notes: tuple[str, ...]
    # Why `lost_writes` or `rpo_s` is None, by result.json name.
    reasons: Mapping[str, str] = field(default_factory=dict)

    @property
    def judged(self) -> bool:
        """Whether the read-back could judge the writes at all (it did not fail)."""
        return "lost_writes" not in self.reasons

    @property
    def counts(self) -> dict[str, int]:
        """How many sequence numbers each class holds, in the order of `CLASSES`."""
        return {name: len(getattr(self, name)) for name in CLASSES}


def data_loss(
    writes: Iterable[WriteAttempt], read: ReadBack, *, window_opens: float | None = None
) -> DataLoss:
    """Classify the writes of `read.probe` against the read-back, and measure the RPO.

    Writes of other probes are ignored, and so are (as `not_judged`) those sent before
    `window_opens`. Each sequence number must be attempted once.
    """
    attempts: dict[int, WriteAttempt] = {}
    for w in writes:
        if w.probe != read.probe:
            continue
        if w.seq in attempts:
            raise ValueError(f"write {w.seq} of {w.probe} was attempted twice")
        attempts[w.seq] = w
    if read.error:
        note = f"data loss not measured: the read-back of {read.probe} failed: {read.error}"
        nothing: tuple[int, ...] = ()  # seven classes of nothing: no sequence number is judged
        reasons = {"lost_writes": note, "rpo_s": note}
        return DataLoss(
            read.probe, *(nothing,) * 7, None, None, None, None, False, (note,), reasons
        )

    present = Counter(read.seqs)
    opens = -math.inf if window_opens is None else window_opens
    early = {s for s, w in attempts.items() if w.t_sent < opens}
    judged = {s: w for s, w in attempts.items() if opens <= w.t_sent < read.t}
    acked = {s: w for s, w in judged.items() if w.t_ack is not None and w.t_ack <= read.t}
    unknown = judged.keys() - acked.keys()
    stable = sorted(s for s in acked if s in present)
    lost = sorted(s for s in acked if s not in present)
    notes = []
    if not attempts:
        notes.append(f"no write attempts of {read.probe} to judge")
    if early:
        notes.append(
            f"{len(early)} write(s) sent before the measurement window opened were not judged"
        )
    late = len(attempts) - len(judged) - len(early)
    if late:
        notes.append(f"{late} write(s) sent after the read-back were not judged")
    rpo, start, end, lower_bound = _rpo(acked, stable, lost, notes)
    reasons = {} if rpo is not None else {"rpo_s": notes[-1]}
    return DataLoss(
        probe=read.probe,
        stable=tuple(stable),
        lost=tuple(lost),
        recovered=tuple(sorted(s for s in unknown if s in present)),
        failed=tuple(sorted(s for s in unknown if s not in present)),
        duplicated=tuple(sorted(s for s, n in present.items() if n > 1)),
        unexpected=tuple(sorted(s for s in present if s not in attempts)),
        not_judged=tuple(sorted(attempts.keys() - judged.keys())),
        lost_writes=len(lost),
        rpo_s=rpo,
        rpo_from=start,
        rpo_to=end,
        rpo_lower_bound=lower_bound,
        notes=tuple(notes),
        reasons=reasons,
    )


def _rpo(
    acked: dict[int, WriteAttempt], stable: list[int], lost: list[int], notes: list[str]
) -> tuple[float | None, float | None, float | None, bool]:
    """(rpo_s, rpo_from, rpo_to, lower_bound) as the module docstring defines them."""
    if not acked:
        notes.append("RPO not measured: no write was acknowledged before the read-back")
        return None, None, None, False
    if not lost:
        return 0.0, None, None, False

    def ack(seq: int) -> float:
        t_ack = acked[seq].t_ack
        assert t_ack is not None  # `acked` holds acknowledged writes only
        return t_ack

    oldest_lost = min(lost, key=ack)
    newest_lost = max(ack(s) for s in lost)
    before = [ack(s) for s in stable if ack(s) < ack(oldest_lost)]
    if before:
        return newest_lost - max(before), max(before), newest_lost, False
    notes.append(
        f"RPO is a lower bound: no surviving write was acknowledged before the oldest lost "
        f"one (seq {oldest_lost}), so it is measured from that write's send time"
    )
    first = acked[oldest_lost].t_sent
    return newest_lost - first, first, newest_lost, True
