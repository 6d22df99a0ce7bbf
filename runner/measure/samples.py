"""What the probes observed: the raw evidence every measured figure is computed from.

All times are seconds on one monotonic clock (`time.monotonic()` of the runner), so
differences between them are durations that wall-clock adjustments cannot distort.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AvailabilitySample:
    """One availability check of one probe instance.

    `probe` names the instance (`health@web1`); `t` is when the check was sent, and the
    measurements take `ok` as the state of the service at `t`. `latency_s` is the response
    time of an answered check (None when there was no answer); `error` says why it failed.

    `unknown` True: the check could not judge the service at all (a Prometheus probe whose
    Prometheus did not answer). Such a sample is never healthy (`ok` is False) and never a
    failure (`failed` is False): the measurements treat it as a gap in the evidence, the
    triggers skip it. Spelled in the journal and result.json as `ok: null`.
    """

    probe: str
    t: float
    ok: bool
    latency_s: float | None
    error: str = ""
    unknown: bool = False

    def __post_init__(self) -> None:
        if self.unknown and self.ok:
            raise ValueError(f"sample of {self.probe} at t={self.t} is both unknown and healthy")

    @property
    def failed(self) -> bool:
        """The service was seen unhealthy (an unknown sample saw nothing)."""
        return not self.ok and not self.unknown

    @property
    def verdict(self) -> bool | None:
        """True healthy, False unhealthy, None unknown: how the journal and result.json
        spell it."""
        return None if self.unknown else self.ok


@dataclass(frozen=True)
class WriteAttempt:
    """One sequence-numbered write of a data probe.

    `acked` True: the store acknowledged the write at `t_ack`. `acked` False: the outcome is
    unknown (an error or a timeout may still have been applied), and `t_ack` is None.
    """

    probe: str
    seq: int
    t_sent: float
    t_ack: float | None
    acked: bool
    error: str = ""

    def __post_init__(self) -> None:
        if self.acked and self.t_ack is None:
            raise ValueError(f"write {self.seq} of {self.probe} is acked without an ack time")
        if not self.acked and self.t_ack is not None:
            raise ValueError(f"write {self.seq} of {self.probe} has an ack time but no ack")


@dataclass(frozen=True)
class ReadBack:
    """The sequence numbers a data probe found in the store at `t` (duplicates kept).

    A non-empty `error` means the read itself failed: `seqs` then proves nothing, and no
    write may be called lost on its evidence.
    """

    probe: str
    t: float
    seqs: tuple[int, ...]
    error: str = ""
