"""A probe runner's life, with the workers' bodies replaced by fakes that return at once: what
starting journals and which threads it runs, what a worker's death is recorded as, what
stopping waits for and journals last, and which probes the read-back reads."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

import runner.measure.probes as probes_module
from runner.inventory.model import Host
from runner.journal import Journal
from runner.measure.probes import STOP_JOIN_S, ProbeInstance, ProbeRunner
from runner.measure.samples import ReadBack
from runner.measure.specs import DataCall, DataProbe, ProbeSpec
from runner.secrets import SecretMask
from runner.templating.templar import Templar

WEB1 = Host("web1", "10.9.8.7", "local", None, None, {}, ("all",))
WEB2 = Host("web2", "10.9.8.8", "local", None, None, {}, ("all",))
HEALTH = ProbeInstance(ProbeSpec("health", 0.25, 0.5, "command", healthy_after=2), WEB1, "true", {})
DATA = DataProbe(DataCall("shell", "w {{ seq }}", 1.0), DataCall("shell", "r", 2.0))
LEDGER = ProbeInstance(ProbeSpec("ledger", 0.5, 1.5, "data", data=DATA), WEB2, None, {})


def runner_for(tmp_path: Path, instances: list[ProbeInstance], **kwargs: Any) -> ProbeRunner:
    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    pool: Any = object()  # no worker body here reaches a target
    return ProbeRunner(instances, pool, Templar(), journal, **kwargs)


def journaled(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    path = tmp_path / "journal.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def finish(probes: ProbeRunner) -> None:
    """Wait for the fake bodies, which return at once (a bound, not a pace)."""
    for thread in probes._threads:
        thread.join(5.0)
        assert not thread.is_alive()


def test_start_journals_every_probe_and_runs_one_named_daemon_thread_each_and_a_flusher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = runner_for(tmp_path, [HEALTH, LEDGER])
    ran: list[tuple[str, str, bool]] = []

    def loop(instance: ProbeInstance) -> None:
        thread = threading.current_thread()
        ran.append((instance.label, thread.name, thread.daemon))

    def flush_loop() -> None:
        thread = threading.current_thread()
        ran.append(("flush", thread.name, thread.daemon))

    monkeypatch.setattr(probes, "_loop", loop)
    monkeypatch.setattr(probes, "_flush_loop", flush_loop)
    probes.start()
    finish(probes)
    assert sorted(ran) == [
        ("flush", "probe-flush", True),
        ("health@web1", "probe-health@web1", True),
        ("ledger@web2", "probe-ledger@web2", True),
    ]
    assert len(probes._threads) == 3
    [event] = journaled(tmp_path, "probes_started")
    assert event["probes"] == [
        {"probe": "health", "host": "web1", "every_s": 0.25, "timeout_s": 0.5, "healthy_after": 2},
        {"probe": "ledger", "host": "web2", "every_s": 0.5, "timeout_s": 1.5, "healthy_after": 3},
    ]
    assert probes.failure() == ""


def test_without_probes_start_journals_nothing_and_runs_no_thread(tmp_path: Path) -> None:
    probes = runner_for(tmp_path, [])
    probes.start()
    assert probes._threads == [] and journaled(tmp_path, "probes_started") == []


def test_a_worker_that_raises_is_a_failure_named_after_its_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    probes = runner_for(tmp_path, [HEALTH, LEDGER], on_failure=told.append)

    def loop(instance: ProbeInstance) -> None:
        if instance is LEDGER:
            raise OSError("store gone")

    monkeypatch.setattr(probes, "_loop", loop)
    monkeypatch.setattr(probes, "_flush_loop", lambda: None)
    probes.start()
    finish(probes)
    why = "probe worker probe-ledger@web2 died: OSError: store gone"
    assert probes.failure() == why and told == [why]
    [event] = journaled(tmp_path, "probe_worker_died")
    assert (event["probe"], event["error"]) == ("probe-ledger@web2", "died: OSError: store gone")


def test_stop_cancels_then_waits_for_every_thread_then_journals_what_they_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = runner_for(tmp_path, [HEALTH])
    monkeypatch.setattr(probes, "_loop", lambda instance: None)
    monkeypatch.setattr(probes, "_flush_loop", lambda: None)
    probes.start()
    finish(probes)
    joined: list[tuple[list[threading.Thread], float, bool]] = []

    def join(threads: list[threading.Thread], timeout: float) -> None:
        joined.append((list(threads), timeout, probes._stop.cancelled))
        # A worker's last sample lands while stop waits: it is journaled all the same.
        probes._pending.setdefault("health@web1", []).append([7.5, True, 1.25, ""])

    monkeypatch.setattr(probes.failures, "join", join)
    probes.stop()
    assert joined == [(probes._threads, STOP_JOIN_S, True)] and STOP_JOIN_S == 10.0
    [event] = journaled(tmp_path, "probe_samples")
    assert (event["probe"], event["rows"]) == ("health@web1", [[7.5, True, 1.25, ""]])


def test_the_read_back_reads_each_data_probe_and_only_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = ProbeInstance(LEDGER.spec, WEB1, None, {})
    probes = runner_for(tmp_path, [HEALTH, LEDGER, other])
    read: list[tuple[ProbeRunner, ProbeInstance, DataProbe]] = []

    def read_back(runner: ProbeRunner, instance: ProbeInstance, data: DataProbe) -> ReadBack:
        read.append((runner, instance, data))
        return ReadBack(instance.label, 1.0, (len(read),))

    monkeypatch.setattr(probes_module, "read_back", read_back)
    probes.read_back()
    assert read == [(probes, LEDGER, DATA), (probes, other, DATA)]
    assert probes.log.reads == [
        ReadBack("ledger@web2", 1.0, (1,)),
        ReadBack("ledger@web1", 1.0, (2,)),
    ]
