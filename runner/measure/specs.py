"""Probes and triggers as the playbook states them: typed, frozen, validated when it loads.

One `ProbeSpec` per entry of `probes:` and one `TriggerRule` per entry of `triggers:` are
built by the loader (`runner.playbook.probe_loader`) and used by lint, plan, the engine and
the measurements; nothing reads the raw mappings again. Every default lives here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Sampling: a probe checks every `every` (default 1 s), never more often than every 50 ms:
# below that the checks themselves load the service they watch, and a sample's verdict
# would stand for less time than the scheduler's jitter.
DEFAULT_EVERY_S = 1.0
MIN_EVERY_S = 0.05
# One availability check may take `timeout` (default 1 s) before it counts as a failure.
DEFAULT_CHECK_TIMEOUT_S = 1.0
# N consecutive healthy samples end an outage (the measured RTO's recovery point).
DEFAULT_HEALTHY_AFTER = 3
# Data probes talk to real databases, often over SSH: seconds, not milliseconds.
DEFAULT_WRITE_TIMEOUT_S = 5.0
DEFAULT_READ_TIMEOUT_S = 10.0
# A failed read-back (error, timeout, unparsable output) is retried until this deadline,
# counted from the first attempt; then the data figures are null with the reason.
DEFAULT_READ_DEADLINE_S = 30.0
READ_RETRY_PAUSE_S = 0.5
# Triggers judged over a window.
DEFAULT_TRIGGER_WINDOW_S = 10.0
DEFAULT_LATENCY_ABOVE_S = 1.0

READ_FORMATS = ("lines", "json", "pattern")
CHECK_KINDS = ("http", "tcp", "command", "prometheus")
DATA_CALL_KINDS = ("shell", "http")
TRIGGER_KINDS = ("consecutive_failures", "error_rate", "latency", "step_failed", "alert")
# A Prometheus probe's expectation: how each series' value compares with the threshold,
# whether every series or any one must satisfy it, and what an empty vector means.
COMPARATORS = ("==", "!=", ">", ">=", "<", "<=")
SERIES_MATCH = ("all", "any")
NO_DATA = ("unhealthy", "unknown")
DEFAULT_NO_DATA = "unhealthy"
# Where an alert trigger asks whether its alert fires, and how often.
ALERT_SOURCES = ("prometheus", "alertmanager")
DEFAULT_ALERT_EVERY_S = 1.0
DEFAULT_ALERT_TIMEOUT_S = 2.0

# When availability and data judging start (`measure_from:`): when the change begins
# (deploy, the default: what prepare does to bring the baseline is no incident), or when
# prepare begins (for a prepare that must not disturb the service either).
MEASURE_FROM = ("deploy", "prepare")
DEFAULT_MEASURE_FROM = "deploy"


@dataclass(frozen=True)
class DataCall:
    """One numbered write, or the read-back: a shell command on the probe's host, or an
    HTTP request from the controller. `request` is the shell text or the `http` arguments,
    templates unrendered (a write renders `{{ seq }}` per attempt)."""

    kind: str  # shell | http
    request: Any
    timeout_s: float

    def __post_init__(self) -> None:
        if self.kind not in DATA_CALL_KINDS:
            raise ValueError(f"a data call is one of {DATA_CALL_KINDS}, got {self.kind!r}")
        if not self.timeout_s > 0:
            raise ValueError(f"a data call's timeout must be > 0 seconds, got {self.timeout_s}")

    def as_step_args(self) -> dict[str, Any]:
        """The call as the mapping a template renders (`{shell: …}` or `{http: {…}}`)."""
        return {self.kind: self.request}


@dataclass(frozen=True)
class ReadFormat:
    """How the read-back's output lists the sequence numbers present.

    `lines`: one non-negative integer per line (blank lines ignored). `json`: a JSON array
    of integers, or an object whose `seqs` member is one. `pattern`: a regular expression
    with exactly one group, searched in every non-blank line; the group is the number.
    Anything else is a failed read naming the offending line, never a guess.
    """

    kind: str = "lines"
    pattern: str = ""

    def __post_init__(self) -> None:
        if self.kind not in READ_FORMATS:
            raise ValueError(f"read format is one of {READ_FORMATS}, got {self.kind!r}")
        if (self.kind == "pattern") != bool(self.pattern):
            raise ValueError("a pattern read format needs its pattern, and only it has one")

    def describe(self) -> str:
        return f"pattern {self.pattern!r}" if self.kind == "pattern" else f"format {self.kind}"


@dataclass(frozen=True)
class DataProbe:
    """The write and the read-back of a data (RPO) probe."""

    write: DataCall
    read: DataCall
    read_format: ReadFormat = field(default_factory=ReadFormat)
    read_deadline_s: float = DEFAULT_READ_DEADLINE_S

    def __post_init__(self) -> None:
        if self.read_deadline_s < self.read.timeout_s:
            raise ValueError(
                f"the read-back deadline ({self.read_deadline_s:g}s) is shorter than one "
                f"read's timeout ({self.read.timeout_s:g}s)"
            )


@dataclass(frozen=True)
class PromExpect:
    """How a Prometheus probe judges its query's result: every series' value (or any one's,
    `match: any`) compared with `value` by `op`. A vector without series is "no data":
    unhealthy by default (the series a healthy service reports is gone), or unknown
    (`no_data: unknown`: the query cannot tell)."""

    op: str
    value: float
    match: str = "all"
    no_data: str = DEFAULT_NO_DATA

    def __post_init__(self) -> None:
        if self.op not in COMPARATORS:
            raise ValueError(f"comparator is one of {' '.join(COMPARATORS)}, got {self.op!r}")
        if self.match not in SERIES_MATCH:
            raise ValueError(f"match is one of {SERIES_MATCH}, got {self.match!r}")
        if self.no_data not in NO_DATA:
            raise ValueError(f"no_data is one of {NO_DATA}, got {self.no_data!r}")

    def describe(self) -> str:
        return f"{self.match} series {self.op} {self.value:g}"


@dataclass(frozen=True)
class ProbeSpec:
    """One probe of the playbook: what it checks or writes, how often, and how long for.

    `kind` is `http`, `tcp`, `command`, `prometheus` (availability) or `data`. `request`
    holds the check's arguments (the `http`, `tcp` or `prometheus` mapping, the command
    text), templates unrendered; None for a data probe, whose calls are in `data`.
    `timeout_s` bounds one availability check (for a data probe: one write). `hosts` is the
    probe's own host pattern, if any. `expect` is a Prometheus probe's judgement.
    """

    name: str
    every_s: float = DEFAULT_EVERY_S
    timeout_s: float = DEFAULT_CHECK_TIMEOUT_S
    kind: str = "command"
    request: Any = None
    healthy_after: int = DEFAULT_HEALTHY_AFTER
    hosts: str | None = None
    data: DataProbe | None = None
    expect: PromExpect | None = None

    def __post_init__(self) -> None:
        if not (self.every_s > 0 and self.timeout_s > 0):
            raise ValueError(f"probe {self.name}: every and timeout must be > 0 seconds")
        if self.healthy_after < 1:
            raise ValueError(f"probe {self.name}: healthy_after must be at least 1")
        if (self.kind == "data") != (self.data is not None):
            raise ValueError(f"probe {self.name}: a data probe, and only it, has data calls")
        if self.kind not in (*CHECK_KINDS, "data"):
            raise ValueError(f"probe {self.name}: unknown kind {self.kind!r}")
        if (self.kind == "prometheus") != (self.expect is not None):
            raise ValueError(f"probe {self.name}: a Prometheus probe, and only it, has expect")

    @property
    def is_data(self) -> bool:
        return self.data is not None


@dataclass(frozen=True)
class TriggerRule:
    """One trigger: the condition on a probe's samples (or a failed step) that decides the
    automatic rollback. `kind` is one of `TRIGGER_KINDS`. `step_timeout_s` is, for
    `step_failed` in a worst-case estimate, the timeout of the step whose failure would
    trigger the rollback (None: no timeout, no bound). An `alert` trigger names the alert,
    the `source` that evaluates it (`prometheus` or `alertmanager`) at `url`, and is polled
    every `every_s`, each poll bounded by `timeout_s`."""

    kind: str
    probe: str = ""
    consecutive_failures: int = 0
    error_rate: float = 0.0
    window_s: float = 0.0
    latency_p: float = 0.0
    above_s: float = 0.0
    step_timeout_s: float | None = None
    alert: str = ""
    source: str = ""
    url: str = ""
    every_s: float = DEFAULT_ALERT_EVERY_S
    timeout_s: float = DEFAULT_ALERT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.kind == "alert" and not (self.alert and self.source in ALERT_SOURCES):
            raise ValueError(f"an alert trigger needs an alert name and one of {ALERT_SOURCES}")
        if self.kind not in TRIGGER_KINDS:
            raise ValueError(f"unknown trigger kind {self.kind!r}; expected one of {TRIGGER_KINDS}")
        if self.kind == "consecutive_failures" and self.consecutive_failures < 1:
            raise ValueError("consecutive_failures must be at least 1")
        if self.kind in ("error_rate", "latency") and self.window_s <= 0:
            raise ValueError(f"a {self.kind} trigger needs a window > 0 seconds")

    def describe(self) -> str:
        if self.kind == "consecutive_failures":
            return f"{self.probe}: {self.consecutive_failures} consecutive failures"
        if self.kind == "error_rate":
            return f"{self.probe}: error rate over {self.error_rate:.0%} in {self.window_s:g}s"
        if self.kind == "latency":
            p, above, window = self.latency_p, self.above_s, self.window_s
            return f"{self.probe}: p{p:g} latency above {above:g}s in {window:g}s"
        if self.kind == "alert":
            return f"alert {self.alert} firing in {self.source}"
        return "a step failed"

    @property
    def watches(self) -> str:
        """The label of the samples this rule judges: its probe, or its alert poller's."""
        return f"alert:{self.alert}" if self.kind == "alert" else self.probe


def healthy_after_of(probes: Mapping[str, ProbeSpec]) -> dict[str, int]:
    """Each probe's N of "N consecutive healthy samples"."""
    return {name: spec.healthy_after for name, spec in probes.items()}
