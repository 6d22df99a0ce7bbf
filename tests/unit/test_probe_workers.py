"""Probe workers are alive or the run knows it: a worker that dies is recorded, journaled and
reported, never left as a silent gap in the evidence; a read-back is retried to its deadline."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from runner.connections.pool import ConnectionPool
from runner.inventory.model import Host
from runner.journal import Journal
from runner.measure.probes import ProbeInstance, ProbeRunner, read_back
from runner.measure.samples import AvailabilitySample
from runner.measure.specs import DataCall, DataProbe, ProbeSpec, ReadFormat
from runner.secrets import SecretMask
from runner.templating.templar import Templar

LOCAL = Host("local", "127.0.0.1", "local", None, None, {}, ("all",))


def runner_for(tmp_path: Path, *instances: ProbeInstance, **kwargs: Any) -> ProbeRunner:
    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    return ProbeRunner(list(instances), ConnectionPool(), Templar(), journal, **kwargs)


def journaled(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_a_worker_that_dies_mid_run_is_a_failure_the_run_can_see(tmp_path: Path) -> None:
    healthy = ProbeInstance(ProbeSpec("a", every_s=0.05), LOCAL, "true", {})
    doomed = ProbeInstance(ProbeSpec("b", every_s=0.05), LOCAL, "true", {})
    seen: dict[str, int] = {}
    told: list[str] = []

    def listener(sample: AvailabilitySample) -> None:
        seen[sample.probe] = seen.get(sample.probe, 0) + 1
        if sample.probe == "b@local" and seen[sample.probe] == 3:
            raise RuntimeError("worker broken on purpose")

    probes = runner_for(tmp_path, healthy, doomed, listener=listener, on_failure=told.append)
    probes.start()
    try:
        assert wait_until(lambda: probes.failure() != "")
        dead_at = seen["b@local"]
        assert wait_until(lambda: seen["a@local"] >= dead_at + 5)  # the other one lives on
    finally:
        probes.stop()
    assert seen["b@local"] == 3  # nothing after its death
    assert probes.failure() == (
        "probe worker probe-b@local died: RuntimeError: worker broken on purpose"
    )
    assert told == [probes.failure()]
    [event] = journaled(tmp_path, "probe_worker_died")
    assert event["probe"] == "probe-b@local" and "worker broken on purpose" in event["error"]


def test_workers_that_live_to_the_end_leave_no_failure(tmp_path: Path) -> None:
    probes = runner_for(tmp_path, ProbeInstance(ProbeSpec("a", every_s=0.05), LOCAL, "true", {}))
    probes.start()
    assert wait_until(lambda: len(probes.log.availability) >= 3)
    probes.stop()
    assert probes.failure() == "" and journaled(tmp_path, "probe_worker_died") == []


def data_instance(tmp_path: Path, read: str, **read_options: Any) -> ProbeInstance:
    data = DataProbe(
        DataCall("shell", f"echo {{{{ seq }}}} >> {tmp_path}/ledger", 5.0),
        DataCall("shell", read, read_options.pop("timeout", 5.0)),
        read_options.pop("read_format", ReadFormat()),
        read_options.pop("deadline", 5.0),
    )
    return ProbeInstance(ProbeSpec("ledger", 0.05, 5.0, "data", data=data), LOCAL, None, {})


def test_a_read_that_fails_then_succeeds_is_retried_and_counts(tmp_path: Path) -> None:
    # The first read fails (the store is still starting); the second finds the records.
    flag = tmp_path / "tried"
    instance = data_instance(
        tmp_path, f"test -e {flag} && printf '1\\n2\\n' || {{ touch {flag}; exit 1; }}"
    )
    probes = runner_for(tmp_path, instance)
    assert instance.spec.data is not None
    back = read_back(probes, instance, instance.spec.data)
    assert (back.seqs, back.error) == ((1, 2), "")
    assert len(journaled(tmp_path, "probe_read_failed")) == 1
    [final] = journaled(tmp_path, "probe_read_back")
    assert (final["ok"], final["attempts"], final["seqs"]) == (True, 2, [1, 2])


def test_a_read_that_keeps_failing_gives_up_at_its_deadline_with_the_reason(tmp_path: Path) -> None:
    instance = data_instance(tmp_path, "echo probe-12", deadline=1.5, timeout=1.0)
    probes = runner_for(tmp_path, instance)
    assert instance.spec.data is not None
    started = time.monotonic()
    back = read_back(probes, instance, instance.spec.data)
    took = time.monotonic() - started
    assert back.seqs == () and "line 1 'probe-12' is not a sequence number" in back.error
    assert "attempt(s)" in back.error and "deadline 1.5s" in back.error
    assert 1.0 <= took < 3.0
    [final] = journaled(tmp_path, "probe_read_back")
    assert final["ok"] is False and final["attempts"] >= 2


def test_a_read_slower_than_its_timeout_is_a_failed_read_not_an_empty_store(tmp_path: Path) -> None:
    instance = data_instance(tmp_path, "sleep 5; echo 1", deadline=1.0, timeout=0.5)
    probes = runner_for(tmp_path, instance)
    assert instance.spec.data is not None
    back = read_back(probes, instance, instance.spec.data)
    assert back.seqs == () and "timed out after 0.5s" in back.error
