"""The shared record of background workers that died or hung: a dead worker is recorded,
journaled and reported, and turns the run into an error, never into ok; joining them at the
end waits no longer than its timeout, however many have hung."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import runner.connections.pool
import runner.measure.alerts
from runner.cli import main
from runner.journal import Journal
from runner.measure.workers import WorkerFailures
from runner.secrets import SecretMask
from tests.fakes.connection import FakeTarget


def failures_for(tmp_path: Path, told: list[str] | None = None) -> WorkerFailures:
    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    return WorkerFailures("probe worker", journal, None if told is None else told.append)


def journaled(path: Path, kind: str) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def test_a_worker_that_dies_is_recorded_journaled_and_reported(tmp_path: Path) -> None:
    told: list[str] = []
    failures = failures_for(tmp_path, told)

    def broken() -> None:
        raise RuntimeError("broken on purpose")

    failures.guard("probe-a@h1", broken)
    assert failures.summary() == "probe worker probe-a@h1 died: RuntimeError: broken on purpose"
    assert told == [failures.summary()]
    [event] = journaled(tmp_path / "journal.jsonl", "probe_worker_died")
    assert event["probe"] == "probe-a@h1" and "broken on purpose" in event["error"]


def test_a_worker_that_returns_leaves_no_failure(tmp_path: Path) -> None:
    told: list[str] = []
    failures = failures_for(tmp_path, told)
    ran: list[bool] = []
    failures.guard("probe-a@h1", lambda: ran.append(True))
    assert ran == [True]
    assert failures.summary() == "" and told == []
    assert journaled(tmp_path / "journal.jsonl", "probe_worker_died") == []


def test_every_failed_worker_is_in_the_summary_in_a_stable_order(tmp_path: Path) -> None:
    failures = failures_for(tmp_path)
    failures.record("probe-b@h1", "died: OSError: gone")
    failures.record("probe-a@h1", "did not stop within 10s of the end")
    assert failures.summary() == (
        "probe worker probe-a@h1 did not stop within 10s of the end; "
        "probe worker probe-b@h1 died: OSError: gone"
    )


def test_join_records_hung_workers_and_honours_its_timeout_in_all(tmp_path: Path) -> None:
    release = threading.Event()
    hung = [
        threading.Thread(target=release.wait, args=(30,), daemon=True, name=f"probe-{n}@h1")
        for n in ("a", "b")
    ]
    done = threading.Thread(target=lambda: None, daemon=True, name="probe-c@h1")
    for thread in (*hung, done):
        thread.start()
    failures = failures_for(tmp_path)
    try:
        started = time.monotonic()
        failures.join([*hung, done], 0.4)
        took = time.monotonic() - started
    finally:
        release.set()
        for thread in hung:
            thread.join(timeout=5)
    # One deadline for the whole join: two hung workers do not make it wait twice as long.
    assert 0.35 <= took < 0.75
    assert failures.summary() == (
        "probe worker probe-a@h1 did not stop within 0.4s of the end; "
        "probe worker probe-b@h1 did not stop within 0.4s of the end"
    )


def test_join_of_workers_that_stop_in_time_records_nothing(tmp_path: Path) -> None:
    threads = [threading.Thread(target=time.sleep, args=(0.05,), daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    failures = failures_for(tmp_path)
    failures.join(threads, 5.0)
    assert not any(t.is_alive() for t in threads)
    assert failures.summary() == ""


def alert_drill(tmp_path: Path) -> Path:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: dead poller\nrollback_type: 2\n"
        "triggers:\n"
        "  - {alert: LabDown, prometheus: 'http://127.0.0.1:9', every: 50ms, timeout: 1s}\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )
    return playbook


@pytest.mark.parametrize("dies", [True, False])
def test_a_dead_alert_poller_makes_the_run_an_error_never_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dies: bool
) -> None:
    fake = FakeTarget()
    monkeypatch.setattr(runner.connections.pool, "default_factories", fake.factories)
    quiet = runner.measure.alerts.AvailabilitySample("alert:LabDown", 0.0, True, 0.001, "")
    polled = threading.Event()

    def poll(watch: Any, t: float) -> Any:
        polled.set()
        if dies:
            raise RuntimeError("poller killed by the test")
        return quiet

    monkeypatch.setattr(runner.measure.alerts, "poll", poll)
    # The change waits until the poller has answered (or died) once, so it was watched.
    fake.on("change", lambda call: polled.wait(5))
    out = tmp_path / "run"
    code = main(["run", str(alert_drill(tmp_path)), "--out", str(out)])
    result = json.loads((out / "result.json").read_text())
    if dies:
        assert code == 3 and result["status"] == "error"
        assert "alert poller alert-alert:LabDown died" in result["reason"]
        assert "poller killed by the test" in result["reason"]
    else:
        assert code == 0 and result["status"] == "passed"
        assert "alert poller" not in str(result["reason"])
