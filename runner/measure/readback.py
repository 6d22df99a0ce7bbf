"""Reading a data probe's read-back: the sequence numbers present, in an explicit format.

The format is the playbook's (`runner.measure.specs.ReadFormat`): one number per line,
a JSON array of integers, or a one-group pattern per line. Output in any other shape is
refused with the offending line, never guessed at: taking "every integer in the text"
would read `probe-12` as -12 and `drill:2026:seq:12` as 2026 and 12, and then call every
write that is really present lost.
"""

from __future__ import annotations

import json
import re
from typing import Any

from runner.measure.specs import ReadFormat

_NUMBER = re.compile(r"\d+")
SHOWN = 80  # characters of an offending line quoted in the error


class ReadBackFormatError(ValueError):
    """The read-back's output is not in the declared format; the message names the line."""


def parse_read_back(output: str, fmt: ReadFormat) -> tuple[int, ...]:
    """The sequence numbers in `output`, in order, duplicates kept; or ReadBackFormatError."""
    if fmt.kind == "json":
        return _json(output)
    pattern = re.compile(fmt.pattern) if fmt.kind == "pattern" else None
    seqs = []
    for number, line in enumerate(output.splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if pattern is None:
            if not _NUMBER.fullmatch(text):
                raise ReadBackFormatError(
                    f"line {number} {_quote(text)} is not a sequence number (format lines: "
                    "one non-negative integer per line; give `pattern:` to extract it)"
                )
            seqs.append(_seq(text, number, text))
            continue
        match = pattern.search(text)
        if match is None:
            raise ReadBackFormatError(
                f"line {number} {_quote(text)} does not match pattern {fmt.pattern!r}"
            )
        group = (match.group(1) or "").strip()
        if not _NUMBER.fullmatch(group):
            raise ReadBackFormatError(
                f"line {number} {_quote(text)}: pattern {fmt.pattern!r} captured {group!r}, "
                "not a non-negative integer"
            )
        seqs.append(_seq(group, number, text))
    return tuple(seqs)


def _seq(digits: str, number: int, line: str) -> int:
    """The number `digits` spell, found on line `number`. One too long for `int` (Python
    refuses over 4,300 digits by default) is a failed read naming its line, never an error
    that ends the drill."""
    try:
        return int(digits)
    except ValueError:
        raise ReadBackFormatError(
            f"line {number} {_quote(line)} holds a number of {len(digits)} digits, too long "
            "to be a sequence number"
        ) from None


def _json(output: str) -> tuple[int, ...]:
    try:
        data: Any = json.loads(output)
    except ValueError as exc:
        lineno = getattr(exc, "lineno", None)
        where = f"line {lineno}" if lineno else "the output"
        raise ReadBackFormatError(f"{where}: not JSON ({exc})") from None
    if isinstance(data, dict) and "seqs" in data:
        data = data["seqs"]
    if not isinstance(data, list):
        raise ReadBackFormatError(
            f"format json expects an array of integers (or an object with `seqs`), got "
            f"a JSON {_json_type(data)}"
        )
    seqs = []
    for index, item in enumerate(data):
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise ReadBackFormatError(
                f"{_line_of(output, item)}item {index} is {_json_type(item)} "
                f"{_quote(json.dumps(item))}, not a non-negative integer (format json reads "
                "integers only; for a read that prints strings, print one per line and give "
                "`pattern:`)"
            )
        seqs.append(item)
    return tuple(seqs)


def _line_of(output: str, item: Any) -> str:
    """'line N: ' where the item's JSON text first appears, or '' when it cannot be told."""
    needle = json.dumps(item)
    for number, line in enumerate(output.splitlines(), start=1):
        if needle in line:
            return f"line {number}: "
    return ""


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def _quote(text: str) -> str:
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "…")
