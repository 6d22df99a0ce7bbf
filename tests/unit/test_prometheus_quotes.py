"""What the reason of an unusable Prometheus result quotes of it: the first 80 characters
of the value it could not judge, never all of it (the reason is an unknown sample's error,
shown in the journal, the notes and the terminal)."""

from __future__ import annotations

import pytest

from runner.measure.prometheus import Unanswered, judge
from runner.measure.specs import PromExpect

EXPECT = PromExpect(">=", 1.0)
LONG = "9" * 100


def reason(result_type: str, result: object) -> str:
    with pytest.raises(Unanswered) as raised:
        judge(result_type, result, EXPECT)
    return str(raised.value)


def test_a_value_that_is_not_a_pair_is_quoted_to_80_characters() -> None:
    assert reason("scalar", [LONG]) == f"a sample value is not [time, value]: ['{'9' * 78}"


def test_a_value_that_is_not_a_number_is_quoted_to_80_characters() -> None:
    text = "x" * 100
    assert reason("scalar", [0, text]) == f"a sample value is not a number: {'x' * 80}"


def test_a_series_that_is_not_an_object_is_quoted_to_80_characters() -> None:
    assert reason("vector", [LONG]) == f"a series is not an object: {'9' * 80}"


def test_a_short_value_is_quoted_whole() -> None:
    assert reason("scalar", [0, "n/a"]) == "a sample value is not a number: n/a"
