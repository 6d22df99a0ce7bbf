"""Durations as drill authors write them, and as reports show them."""

from __future__ import annotations

import math
import re

import pytest

from runner.durations import DURATION_PATTERN, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1h30m", 5400.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("0.25s", 0.25),
        ("1s500ms", 1.5),
        (" 90s ", 90.0),
        ("30", 30.0),
        ("2.5", 2.5),
        ("0", 0.0),
    ],
)
def test_duration_strings_are_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_spaces_between_parts_are_allowed() -> None:
    assert parse_duration("1h 30m") == 5400.0


@pytest.mark.parametrize("number", [0, 7, 2.5])
def test_a_number_is_seconds(number: float) -> None:
    assert parse_duration(number) == float(number)
    assert isinstance(parse_duration(number), float)


@pytest.mark.parametrize(
    "text", ["5 minutes", "1m30", "ms", "", "   ", "abc", "5x", "1h30mm", "m5", "-5s"]
)
def test_unreadable_strings_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected a duration like 500ms, 90s, 5m or 1h30m"):
        parse_duration(text)


def test_a_negative_number_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        parse_duration(-1)


def test_a_negative_number_written_as_text_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_duration("-5")


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_durations(value: bool) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [None, [1], {"s": 1}])
def test_other_types_are_refused_by_type_name(value: object) -> None:
    with pytest.raises(ValueError, match=type(value).__name__):
        parse_duration(value)


@pytest.mark.parametrize("value", ["nan", "inf", "infinity", math.nan, math.inf])
def test_not_a_number_and_infinity_are_not_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize("text", ["500ms", "90s", "1h30m", "1.5h", "30", " 2.5 "])
def test_the_published_pattern_accepts_what_the_parser_accepts(text: str) -> None:
    assert re.match(DURATION_PATTERN, text)


@pytest.mark.parametrize("text", ["5 minutes", "1m30", "ms", "-5", ""])
def test_the_published_pattern_refuses_what_the_parser_refuses(text: str) -> None:
    assert not re.match(DURATION_PATTERN, text)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "n/a"),
        (0, "0.00s"),
        (0.42, "0.42s"),
        (9.994, "9.99s"),
        (12.34, "12.3s"),
        (59.94, "59.9s"),
        (60, "1m00s"),
        (245, "4m05s"),
        (3599.4, "59m59s"),
        (3599.6, "1h00m"),
        (5400, "1h30m"),
        (90061, "25h01m"),
    ],
)
def test_format_duration_is_short_and_human(seconds: float | None, shown: str) -> None:
    assert format_duration(seconds) == shown


@pytest.mark.parametrize(("seconds", "shown"), [(59.96, "1m00s"), (9.996, "10.0s")])
def test_format_duration_rounds_before_choosing_the_unit(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown
