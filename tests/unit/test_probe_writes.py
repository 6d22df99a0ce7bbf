"""A data probe's numbered writes, on a controlled clock and a fake store: which number each
write carries, which call makes it, when it was sent and acknowledged (at the journal's
precision), what a failed write keeps of its output, and the journal rows they become."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import runner.measure.probes as probes_module
from runner.connections.base import CancelToken
from runner.inventory.model import Host
from runner.journal import Journal
from runner.measure.probes import ProbeInstance, ProbeRunner
from runner.measure.samples import WriteAttempt
from runner.measure.specs import DataCall, DataProbe, ProbeSpec
from runner.secrets import SecretMask
from runner.templating.templar import Templar

WEB1 = Host("web1", "10.9.8.7", "local", None, None, {}, ("all",))
WEB2 = Host("web2", "10.9.8.8", "local", None, None, {}, ("all",))


class Clock:
    """time.monotonic for the probes module: time moves only when told."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(12.3456789)
    monkeypatch.setattr(probes_module, "time", c)
    return c


def ledger(host: Host, write_timeout: float = 1.5) -> ProbeInstance:
    data = DataProbe(
        DataCall("shell", "insert {{ seq }}", write_timeout), DataCall("shell", "cat", 2.0)
    )
    return ProbeInstance(ProbeSpec("ledger", 0.5, 1.0, "data", data=data), host, None, {})


def runner_for(tmp_path: Path, instances: list[ProbeInstance]) -> ProbeRunner:
    journal = Journal(tmp_path / "journal.jsonl", SecretMask(["s3cret"]))
    pool: Any = object()  # every call is scripted: the pool is never asked
    return ProbeRunner(instances, pool, Templar(), journal)


Answer = tuple[bool, str, float]  # (ok, output, what the call costs on the clock)


def scripted(
    probes: ProbeRunner, clock: Clock, answers: list[Answer], monkeypatch: pytest.MonkeyPatch
) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def call(
        instance: ProbeInstance,
        kind: str,
        request: Any,
        extra: Any,
        timeout: float,
        cancel: CancelToken,
    ) -> tuple[bool, str]:
        calls.append((instance.label, kind, request, dict(extra), timeout, cancel))
        ok, output, cost = answers.pop(0)
        clock.now += cost
        return ok, output

    monkeypatch.setattr(probes, "call", call)
    return calls


def journaled(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def test_writes_are_numbered_from_1_per_instance_and_acked_at_the_journal_precision(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = ledger(WEB1), ledger(WEB2, write_timeout=4.0)
    probes = runner_for(tmp_path, [one, two])
    calls = scripted(
        probes, clock, [(True, "ok", 0.25), (True, "ok", 0.5), (True, "", 0.125)], monkeypatch
    )
    probes._write(one)
    probes._write(one)
    probes._write(two)
    # The write's own call, rendered per attempt with its number, bounded by the write's
    # timeout and stopped with the probes.
    assert calls == [
        ("ledger@web1", "shell", "insert {{ seq }}", {"seq": 1}, 1.5, probes._stop),
        ("ledger@web1", "shell", "insert {{ seq }}", {"seq": 2}, 1.5, probes._stop),
        ("ledger@web2", "shell", "insert {{ seq }}", {"seq": 1}, 4.0, probes._stop),
    ]
    assert all(c[5] is probes._stop for c in calls)
    assert probes.log.writes == [
        WriteAttempt("ledger@web1", 1, 12.345679, 12.595679, True, ""),
        WriteAttempt("ledger@web1", 2, 12.595679, 13.095679, True, ""),
        WriteAttempt("ledger@web2", 1, 13.095679, 13.220679, True, ""),
    ]


def test_a_failed_write_has_no_ack_time_and_keeps_the_masked_tail_of_its_output(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = ledger(WEB1)
    probes = runner_for(tmp_path, [inst])
    output = "a" * 100 + "b" * 150 + " s3cret"
    scripted(probes, clock, [(False, output, 1.5), (True, "done", 0.0)], monkeypatch)
    probes._write(inst)
    probes._write(inst)
    failed, acked = probes.log.writes
    tail = probes.journal.mask.tail(output, 200)
    assert len(tail) == 200 and tail.startswith("a") and "s3cret" not in tail
    assert failed == WriteAttempt("ledger@web1", 1, 12.345679, None, False, tail)
    # A failed write still takes its number: the next one is 2, acked when its call returned.
    assert acked == WriteAttempt("ledger@web1", 2, 13.845679, 13.845679, True, "")


def test_writes_are_journaled_per_instance_as_rows_of_seq_sent_acked_ok(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = ledger(WEB1), ledger(WEB2)
    probes = runner_for(tmp_path, [one, two])
    scripted(
        probes, clock, [(True, "", 0.25), (False, "refused", 0.5), (True, "", 1.0)], monkeypatch
    )
    probes._write(one)
    probes._write(one)
    probes._write(two)
    probes._flush()
    events = journaled(tmp_path, "probe_writes")
    assert journaled(tmp_path, "probe_samples") == []
    assert [(e["probe"], e["fields"], e["rows"]) for e in events] == [
        (
            "ledger@web1",
            ["seq", "sent", "acked", "ok"],
            [[1, 12.345679, 12.595679, True], [2, 12.595679, None, False]],
        ),
        ("ledger@web2", ["seq", "sent", "acked", "ok"], [[1, 13.095679, 14.095679, True]]),
    ]
    probes._flush()  # nothing new: nothing journaled again
    assert len(journaled(tmp_path, "probe_writes")) == 2
