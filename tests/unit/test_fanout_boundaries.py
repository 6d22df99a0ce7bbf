"""`serial` batch sizes and the `max_fail_percentage` rule, on both sides of each boundary."""

from __future__ import annotations

from typing import Any

import pytest

from runner.engine.fanout import batch_sizes, batches, too_many_failed


@pytest.mark.parametrize(
    ("serial", "total", "sizes"),
    [
        (None, 5, [5]),
        (0, 5, [5]),
        ("0", 5, [5]),
        ("100%", 5, [5]),
        (1, 3, [1, 1, 1]),
        (2, 5, [2, 2, 1]),
        (5, 5, [5]),
        (6, 5, [5]),  # more than there are hosts: one batch of all
        ("2", 5, [2, 2, 1]),  # a number written as a string
        ("30%", 10, [3, 3, 3, 1]),
        ("29%", 10, [2, 2, 2, 2, 2]),  # 2.9 hosts round down
        ("31%", 10, [3, 3, 3, 1]),  # 3.1 hosts round down
        ("50%", 5, [2, 2, 1]),  # 2.5 rounds down, not half up
        ("9%", 10, [1] * 10),  # 0.9 hosts: never below one host
        ("10%", 10, [1] * 10),  # exactly one host
        ("99%", 10, [9, 1]),
        (" 40% ", 5, [2, 2, 1]),  # spaces around a percentage
        ([1, 2], 6, [1, 2, 2, 1]),  # the last size repeats
        ([1, "50%"], 10, [1, 5, 4]),
        ([3, 1, 10], 4, [3, 1]),  # a list longer than needed stops when all are covered
        ([1, 2, 3], 6, [1, 2, 3]),  # each size of a list is used once, in order
        ([1, 2, 3], 9, [1, 2, 3, 3]),
    ],
)
def test_batch_sizes_follow_ansibles_serial(serial: Any, total: int, sizes: list[int]) -> None:
    assert batch_sizes(serial, total) == sizes
    assert sum(sizes) == total


def test_no_hosts_make_no_batches() -> None:
    assert batch_sizes(2, 0) == []
    assert batch_sizes(None, 0) == []  # not one empty batch
    assert batches([], "50%") == []


def test_batches_take_items_in_order() -> None:
    assert batches(["a", "b", "c", "d", "e"], [1, 3]) == [["a"], ["b", "c", "d"], ["e"]]


@pytest.mark.parametrize(
    ("failed", "total", "tolerated", "too_many"),
    [
        (0, 4, 0.0, False),  # nothing failed
        (1, 4, 0.0, True),  # 0 tolerates none
        (1, 4, 25.0, False),  # exactly at the percentage: tolerated
        (2, 4, 25.0, True),  # one host over
        (1, 4, 24.9, True),  # just under the share one failure makes
        (1, 3, 33.3, True),  # 33.33… % is over 33.3
        (1, 3, 33.34, False),
        (4, 4, 100.0, False),  # everything may fail
        (0, 0, 0.0, False),  # no hosts
    ],
)
def test_too_many_failed_is_strictly_over_the_percentage(
    failed: int, total: int, tolerated: float, too_many: bool
) -> None:
    assert too_many_failed(failed, total, tolerated) is too_many
