"""A read-back that prints a number too long for Python to read (over 4,300 digits) is a
failed read that names its line, in every format: never an error that ends the drill, and
never a number read in part."""

from __future__ import annotations

import pytest

from runner.measure.readback import ReadBackFormatError, parse_read_back
from runner.measure.specs import ReadFormat

HUGE = "7" * 5000


def refusal(output: str, fmt: ReadFormat) -> str:
    with pytest.raises(ReadBackFormatError) as refused:
        parse_read_back(output, fmt)
    return str(refused.value)


def test_a_line_with_a_number_too_long_to_read_is_a_failed_read_naming_it() -> None:
    quoted = repr("7" * 80 + "…")
    assert refusal(f"1\n\n{HUGE}\n3\n", ReadFormat()) == (
        f"line 3 {quoted} holds a number of 5000 digits, too long to be a sequence number"
    )


def test_a_pattern_capturing_a_number_too_long_to_read_is_a_failed_read_naming_it() -> None:
    line = f"seq={HUGE}"
    quoted = repr(line[:80] + "…")
    assert refusal(f"seq=4\n{line}\n", ReadFormat("pattern", r"seq=(\d+)")) == (
        f"line 2 {quoted} holds a number of 5000 digits, too long to be a sequence number"
    )


def test_a_json_number_too_long_to_read_is_a_failed_read_of_the_whole_output() -> None:
    # Python refuses it while parsing, with no line to point at: the whole output is named.
    why = refusal(f"[1, {HUGE}]", ReadFormat("json"))
    assert why.startswith("the output: not JSON (Exceeds the limit (4300 digits)")


def test_numbers_just_within_the_limit_are_read() -> None:
    within = "9" * 4300
    assert parse_read_back(f"2\n{within}\n", ReadFormat()) == (2, int(within))
    assert parse_read_back(f"s={within}", ReadFormat("pattern", r"s=(\d+)")) == (int(within),)
