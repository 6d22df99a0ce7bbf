"""The read-back's output is parsed in its declared format, or refused naming the line:
never "every integer in the text" (`probe-12` is not -12, `drill:2026:seq:12` is not 2026)."""

from __future__ import annotations

import re

import pytest

from runner.measure.readback import ReadBackFormatError, parse_read_back
from runner.measure.specs import ReadFormat

LINES, JSON = ReadFormat("lines"), ReadFormat("json")


def test_lines_read_one_number_per_line_and_skip_blank_lines() -> None:
    assert parse_read_back("1\n2\n\n 3 \n3\n", LINES) == (1, 2, 3, 3)  # duplicates kept
    assert parse_read_back("", LINES) == ()  # an empty store: nothing present, not an error
    assert parse_read_back("0\r\n12\r\n", LINES) == (0, 12)


@pytest.mark.parametrize(
    ("output", "line", "text"),
    [
        ("1\nprobe-12\n3\n", 2, "probe-12"),
        ("drill:2026:seq:12\n", 1, "drill:2026:seq:12"),
        ("-12\n", 1, "-12"),
        ("1\n2\n(2 rows)\n", 3, "(2 rows)"),
        ("1 2\n", 1, "1 2"),
        ("1.5\n", 1, "1.5"),
    ],
)
def test_lines_refuse_anything_but_a_bare_number_naming_the_line(
    output: str, line: int, text: str
) -> None:
    with pytest.raises(ReadBackFormatError, match=rf"^line {line} '{re.escape(text)}' is not"):
        parse_read_back(output, LINES)


def test_a_pattern_takes_its_one_group_from_every_line() -> None:
    fmt = ReadFormat("pattern", r"seq:(\d+)$")
    assert parse_read_back("drill:2026:seq:12\ndrill:2026:seq:13\n", fmt) == (12, 13)
    assert parse_read_back("probe-12\nprobe-7\n", ReadFormat("pattern", r"^probe-(\d+)$")) == (
        12,
        7,
    )


def test_a_line_the_pattern_does_not_match_is_refused_by_number() -> None:
    fmt = ReadFormat("pattern", r"seq:(\d+)$")
    with pytest.raises(ReadBackFormatError, match=r"^line 2 'oops' does not match pattern"):
        parse_read_back("drill:2026:seq:12\noops\n", fmt)
    with pytest.raises(ReadBackFormatError, match=r"captured '-1', not a non-negative integer"):
        parse_read_back("seq:-1\n", ReadFormat("pattern", r"seq:(-?\d+)"))
    with pytest.raises(ReadBackFormatError, match=r"captured ''"):
        parse_read_back("seq:\n", ReadFormat("pattern", r"seq:(\d*)"))


def test_json_reads_an_array_of_integers_or_an_object_with_seqs() -> None:
    assert parse_read_back("[3, 1, 1]", JSON) == (3, 1, 1)
    assert parse_read_back('{"seqs": [0, 1, 2], "count": 3}', JSON) == (0, 1, 2)
    assert parse_read_back("[]", JSON) == ()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ('["1", "2"]', r"""^line 1: item 0 is string '"1"', not a non-negative integer"""),
        ('[\n  1,\n  "probe-12"\n]', r"^line 3: item 1 is string .*probe-12.*not a non-negative"),
        ("[1, true]", r"item 1 is boolean"),
        ("[1, 2.5]", r"item 1 is number '2.5'"),
        ("[-3]", r"item 0 is number '-3'"),
        ('{"items": [1]}', r"expects an array of integers .*got a JSON object"),
        ("12", r"got a JSON number"),
        ("1\n2\n", r"^line 2: not JSON"),
        ("", r"not JSON"),
    ],
)
def test_json_refuses_strings_and_other_shapes_clearly(output: str, message: str) -> None:
    with pytest.raises(ReadBackFormatError, match=message):
        parse_read_back(output, JSON)


def test_a_read_format_is_built_whole() -> None:
    with pytest.raises(ValueError, match="pattern read format needs its pattern"):
        ReadFormat("pattern")
    with pytest.raises(ValueError, match="read format is one of"):
        ReadFormat("integers")
    assert ReadFormat("pattern", "x(1)").describe() == "pattern 'x(1)'"
