"""Is the service back to its baseline speed? Latency before the change vs after the rollback.

The test is Mann-Whitney U (scipy), one-sided: `mannwhitneyu(before, after,
alternative="less")` asks whether the baseline latencies are stochastically smaller than
those after the rollback, i.e. whether the service is now slower. It assumes nothing about
the shape of the distribution, which matters: latencies are skewed and heavy-tailed.

`slower` needs both a significant difference (p < alpha) and a practical one (median after
/ median before >= min_ratio): over a long drill a difference of a few percent becomes
significant, and it is no regression worth a failed verify.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runner.measure.samples import AvailabilitySample

ALPHA = 0.01
MIN_RATIO = 1.2
MIN_SAMPLES = 8


@dataclass(frozen=True)
class BaselineComparison:
    """The verdict, and what it rests on.

    `ratio` is median_after_s / median_before_s. `p_value` is the one-sided Mann-Whitney U
    p-value for "after is slower". `slower` is None when there were too few samples on
    either side to judge (then `notes` says so), never a guess.
    """

    n_before: int
    n_after: int
    median_before_s: float | None
    median_after_s: float | None
    ratio: float | None
    p_value: float | None
    slower: bool | None
    alpha: float = ALPHA
    min_ratio: float = MIN_RATIO
    notes: tuple[str, ...] = ()


def latencies(samples: Iterable[AvailabilitySample]) -> tuple[float, ...]:
    """Latencies of the healthy, answered samples.

    A failed check measures its timeout or the error path, not the service's speed: it is
    downtime, and counted there, not here.
    """
    return tuple(s.latency_s for s in samples if s.ok and s.latency_s is not None)


def compare_to_baseline(
    before: Sequence[float],
    after: Sequence[float],
    *,
    alpha: float = ALPHA,
    min_ratio: float = MIN_RATIO,
    min_samples: int = MIN_SAMPLES,
) -> BaselineComparison:
    """Compare latencies (seconds) before the change with those after the rollback."""
    for value in (*before, *after):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a latency must be a finite number of seconds >= 0, got {value}")
    median_before = statistics.median(before) if before else None
    median_after = statistics.median(after) if after else None
    ratio = None
    if median_before is not None and median_after is not None and median_before > 0:
        ratio = median_after / median_before

    def verdict(p_value: float | None, slower: bool | None, note: str = "") -> BaselineComparison:
        notes = (note,) if note else ()
        n_before, n_after = len(before), len(after)
        medians = median_before, median_after
        return BaselineComparison(
            n_before, n_after, *medians, ratio, p_value, slower, alpha, min_ratio, notes
        )

    if len(before) < min_samples or len(after) < min_samples:
        return verdict(
            None,
            None,
            f"not compared: {len(before)} latency sample(s) before and {len(after)} after; "
            f"the test needs at least {min_samples} on each side",
        )
    # scipy costs about a second to import: only a drill that compares pays for it.
    from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]

    p_value = float(mannwhitneyu(before, after, alternative="less").pvalue)
    if math.isnan(p_value):
        return verdict(None, None, "not compared: the test gave no p-value")
    if ratio is None:  # a zero baseline median: "how many times slower" has no answer
        return verdict(p_value, None, "not judged: the baseline median latency is 0")
    return verdict(p_value, p_value < alpha and ratio >= min_ratio)
