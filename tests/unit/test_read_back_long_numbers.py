"""A read-back that prints a number too long for Python to read (over 4,300 digits) is a
failed read that names its line, in every format: never an error that ends the drill, and
never a number read in part."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import runner.measure.probes as probes_module
from runner.inventory.model import Host
from runner.journal import Journal
from runner.measure.probes import ProbeInstance, ProbeRunner, read_back
from runner.measure.readback import ReadBackFormatError, parse_read_back
from runner.measure.specs import DataCall, DataProbe, ProbeSpec, ReadFormat
from runner.secrets import SecretMask
from runner.templating.templar import Templar

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


class Clock:
    """time.monotonic and time.sleep for the probes module: time moves only when told."""

    def __init__(self) -> None:
        self.now = 50.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_read_back_of_a_number_too_long_gives_up_with_the_reason_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probes_module, "time", Clock())
    data = DataProbe(DataCall("shell", "w", 1.0), DataCall("shell", "r", 1.0), ReadFormat(), 1.0)
    host = Host("db1", "10.9.8.7", "local", None, None, {}, ("all",))
    instance = ProbeInstance(ProbeSpec("ledger", 0.5, 1.0, "data", data=data), host, None, {})
    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    pool: Any = object()  # the call is scripted
    probes = ProbeRunner([instance], pool, Templar(), journal)
    monkeypatch.setattr(probes, "call", lambda *args: (True, f"{HUGE}\n"))
    back = read_back(probes, instance, data)
    quoted = repr("7" * 80 + "…")
    assert back.seqs == () and back.error == (
        f"2 attempt(s) over 0.5s (deadline 1s), last: unreadable output (format lines): "
        f"line 1 {quoted} holds a number of 5000 digits, too long to be a sequence number"
    )
