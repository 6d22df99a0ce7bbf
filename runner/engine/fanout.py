"""How many hosts at once: `serial` batches (as Ansible) and the `max_fail_percentage` rule."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def batch_sizes(serial: Any, total: int) -> list[int]:
    """Batch sizes for `serial`: a number, a percentage string, or a list of them.

    As in Ansible, the last size of a list repeats until every host is covered, and a
    percentage rounds down but is never below one host.
    """
    if total <= 0:
        return []
    if serial in (None, 0, "0", "100%"):
        return [total]
    specs = serial if isinstance(serial, list) else [serial]
    sizes: list[int] = []
    covered = 0
    i = 0
    while covered < total:
        size = _size(specs[min(i, len(specs) - 1)], total)
        size = min(size, total - covered)
        sizes.append(size)
        covered += size
        i += 1
    return sizes


def _size(spec: Any, total: int) -> int:
    if isinstance(spec, str) and spec.strip().endswith("%"):
        pct = float(spec.strip()[:-1])
        return max(1, math.floor(total * pct / 100))
    return max(1, int(spec))


def batches(items: Sequence[T], serial: Any) -> list[list[T]]:
    out: list[list[T]] = []
    start = 0
    for size in batch_sizes(serial, len(items)):
        out.append(list(items[start : start + size]))
        start += size
    return out


def too_many_failed(failed: int, total: int, max_fail_percentage: float) -> bool:
    """True when failures exceed the tolerated share (0 tolerates none)."""
    if failed == 0 or total == 0:
        return False
    return failed * 100.0 / total > max_fail_percentage
