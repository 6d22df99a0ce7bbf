"""The read-back's format errors, word for word: each becomes the reason a data figure is
null, so it must name the line, the item, its JSON type and what the format expects.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

import pytest

from runner.measure.readback import SHOWN, ReadBackFormatError, parse_read_back
from runner.measure.specs import ReadFormat

LINES, JSON = ReadFormat("lines"), ReadFormat("json")
JSON_TAIL = (
    ", not a non-negative integer (format json reads integers only; for a read that prints "
    "strings, print one per line and give `pattern:`)"
)


def error(output: str, fmt: ReadFormat) -> str:
    with pytest.raises(ReadBackFormatError) as caught:
        parse_read_back(output, fmt)
    return str(caught.value)


def test_a_line_that_is_not_a_number_names_the_format_and_the_way_out() -> None:
    assert error("1\nprobe-2\n", LINES) == (
        "line 2 'probe-2' is not a sequence number (format lines: one non-negative integer "
        "per line; give `pattern:` to extract it)"
    )


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("[1,\n null]", "line 2: item 1 is null 'null'"),
        ("[1, [2]]", "line 1: item 1 is array '[2]'"),
        ('[{"seq": 3}]', "line 1: item 0 is object '{\"seq\": 3}'"),
        # The item's JSON as json.dumps writes it is not in the output: no line is named.
        ("[1e2]", "item 0 is number '100.0'"),
    ],
)
def test_a_json_item_that_is_not_an_integer_is_named_with_its_type_and_line(
    output: str, message: str
) -> None:
    assert error(output, JSON) == message + JSON_TAIL


def test_an_offending_line_is_quoted_up_to_its_limit() -> None:
    at_limit = "x" * SHOWN
    assert error(at_limit, LINES).startswith(f"line 1 '{at_limit}' is not")
    over = "y" * (SHOWN + 1)
    assert error(over, LINES).startswith(f"line 1 '{'y' * SHOWN}…' is not")
