"""Worst cases known before a drill runs: how late a trigger can fire, and whether detection
plus rollback plus verify can still fit the RTO objective.

How probes sample (`runner.measure.probes`): checks fall due at a fixed rate, at
start + k * every; a check still running when its successor falls due makes the probe skip
to the first due time after it ends. `timeout` is the longest one check can take, and a
trigger looks at a check when it completes, dating it by its send time.

The worst case is taken for a fault that fails every check from its start, that starts just
after a check saw the service healthy, and whose checks each hang for the full timeout:

- the first failing check is sent `every` after the last healthy one;
- failing checks are sent G = every * (floor(timeout / every) + 1) apart: a check that
  hangs makes the probe skip the slots that fall due meanwhile. G = every when
  timeout < every, and every + timeout when timeout is a multiple of every;
- a failing check's verdict is known `timeout` after it was sent.

`consecutive_failures N`: every + (N - 1) * G + timeout. It never exceeds N * (every +
timeout), the exact worst case of a probe that waits `every` between checks.

`error_rate R` and `latency` (percentile P above X) over a window W: both judge the checks
sent in the last W seconds, once W seconds have passed since the trigger was armed. They
surely fire at the first failing check sent at least W after the later of the last healthy
check and arming, when the window holds failures only. Over every position of the fault on
the sampling grid, the worst is W + G + timeout whenever some failing check can fall due
within `every` at or after W (always so when timeout < every: W + every + timeout), else
every + ceil((W - every) / G) * G + timeout. It is an upper bound: a trigger that needs
fewer bad checks (a low R, a high P) fires sooner. An error rate of 1 or more never fires.

`step_failed`: the failing step's timeout; unknown (None) without one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from runner.measure.specs import ProbeSpec, TriggerRule

EPSILON = 1e-9  # durations are decimal seconds: 0.3 / 0.1 must count as 3, not 2.999…


def check_spacing(probe: ProbeSpec) -> float:
    """G: how far apart the probe sends checks that each hang for the full timeout."""
    return probe.every_s * (math.floor(probe.timeout_s / probe.every_s + EPSILON) + 1)


def detection_worst_case(trigger: TriggerRule, probes: Iterable[ProbeSpec]) -> float | None:
    """The longest a trigger can take to fire after the fault starts (module docstring).

    None when it cannot be bounded: a step without a timeout, a probe not among `probes`,
    or an error rate (1 or more) that no window can exceed.
    """
    if trigger.kind == "step_failed":
        return trigger.step_timeout_s
    probe = next((p for p in probes if p.name == trigger.probe), None)
    if probe is None:
        return None
    every, timeout, spacing = probe.every_s, probe.timeout_s, check_spacing(probe)
    if trigger.kind == "consecutive_failures":
        return every + (trigger.consecutive_failures - 1) * spacing + timeout
    if trigger.kind == "error_rate" and trigger.error_rate >= 1:
        return None
    # u: how long after the first failing check the window still reaches a healthy one.
    u = trigger.window_s - every
    m = max(0, math.ceil(u / spacing - EPSILON))  # first failing check due at or after W
    if m * spacing < u + every - EPSILON:  # the fault can land so that one just misses W
        return trigger.window_s + spacing + timeout
    return every + m * spacing + timeout


def worst_case_recovery(
    detection_s: float | None,
    rollback_timeouts_s: Sequence[float | None],
    verify_timeouts_s: Sequence[float | None],
    *,
    decision_s: float | None = 0.0,
) -> float | None:
    """Detection + decision + every rollback and verify step at its timeout, in seconds.

    None when any part is unknown: a step without a timeout has no worst case. `decision_s`
    is 0 for `decision: auto`; for a manual decision pass its timeout.
    """
    parts = [detection_s, decision_s, *rollback_timeouts_s, *verify_timeouts_s]
    known = [p for p in parts if p is not None]
    return sum(known) if len(known) == len(parts) else None


def budget_overrun(
    objective_rto_s: float | None,
    detection_s: float | None,
    rollback_timeouts_s: Sequence[float | None],
    verify_timeouts_s: Sequence[float | None],
    *,
    decision_s: float | None = 0.0,
) -> float | None:
    """Seconds by which the worst case recovery exceeds the RTO objective.

    None when it fits, and also when there is no objective or the worst case is unknown:
    call `worst_case_recovery` to tell "fits" from "unknown".
    """
    worst = worst_case_recovery(
        detection_s, rollback_timeouts_s, verify_timeouts_s, decision_s=decision_s
    )
    if worst is None or objective_rto_s is None or worst <= objective_rto_s:
        return None
    return worst - objective_rto_s
