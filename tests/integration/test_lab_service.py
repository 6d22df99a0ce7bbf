"""The lab service, started and stopped for real on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import cast

import pytest

from runner.lab import control

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "lab"
    yield state
    control.stop(state)


@pytest.fixture
def port() -> int:
    return free_port()


def get(url: str) -> tuple[int, dict[str, object]]:
    return call(urllib.request.Request(url))


def post(url: str, body: object = None) -> tuple[int, dict[str, object]]:
    """POST `body` as JSON (bytes as they are); None sends an empty body."""
    data = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    return call(urllib.request.Request(url, data=data, method="POST"))


def call(req: urllib.request.Request) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_open(port: int) -> bool:
    with socket.socket() as client:
        return client.connect_ex(("127.0.0.1", port)) == 0


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", "lab", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_good_release_answers_health_with_its_version(state_dir: Path, port: int) -> None:
    control.start(state_dir, port=port, version="1")

    assert get(f"http://127.0.0.1:{port}/health") == (200, {"status": "ok", "version": "1"})
    assert get(f"http://127.0.0.1:{port}/version") == (200, {"version": "1", "mode": "good"})


def test_acknowledged_ledger_writes_are_committed_and_read_back_sorted(
    state_dir: Path, port: int
) -> None:
    control.start(state_dir, port=port, version="1")
    url = f"http://127.0.0.1:{port}/ledger"

    assert post(url, {"seq": 3}) == (200, {"seq": 3, "ack": True})
    assert post(url, {"seq": 1}) == (200, {"seq": 1, "ack": True})
    assert post(f"{url}?seq=2") == (200, {"seq": 2, "ack": True})

    assert get(url) == (200, {"seqs": [1, 2, 3], "count": 3})
    with sqlite3.connect(state_dir / "ledger.sqlite") as db:
        assert [seq for (seq,) in db.execute("SELECT seq FROM ledger ORDER BY seq")] == [1, 2, 3]


def test_duplicate_ledger_write_is_acknowledged_and_flagged(state_dir: Path, port: int) -> None:
    control.start(state_dir, port=port, version="1")
    url = f"http://127.0.0.1:{port}/ledger"

    post(url, {"seq": 7})

    assert post(url, {"seq": 7}) == (200, {"seq": 7, "ack": True, "duplicate": True})
    assert get(url) == (200, {"seqs": [7], "count": 1})


@pytest.mark.parametrize(
    "body", [b"not json", {"seq": "1"}, {"seq": -1}, {"seq": True}, {"other": 1}, [1], None]
)
def test_ledger_write_without_a_usable_seq_is_rejected(
    state_dir: Path, port: int, body: object
) -> None:
    control.start(state_dir, port=port, version="1")

    status, answer = post(f"http://127.0.0.1:{port}/ledger", body)

    assert status == 400
    assert "seq" in str(answer["error"])


def test_unknown_endpoint_is_404_json(state_dir: Path, port: int) -> None:
    control.start(state_dir, port=port, version="1")

    status, answer = get(f"http://127.0.0.1:{port}/nope")

    assert status == 404
    assert "/nope" in str(answer["error"])


def test_stop_leaves_no_process_and_closes_the_port(state_dir: Path, port: int) -> None:
    pid = control.start(state_dir, port=port, version="1")

    assert control.stop(state_dir) is True

    assert not pid_exists(pid)
    assert not port_open(port)
    assert control.status(state_dir) is None
    assert not (state_dir / "service.pid").exists()


def test_a_recorded_pid_reused_by_another_process_is_neither_reported_nor_stopped(
    state_dir: Path, port: int
) -> None:
    pid = control.start(state_dir, port=port, version="1")
    assert control.status(state_dir) is not None  # the real service is recognised
    control.stop(state_dir)
    # Its pid now names a process that only looks alike: same words, but not `-m runner lab serve`.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "runner", "lab"])
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "service.pid").write_text(f"{other.pid}\n")
        assert control.status(state_dir) is None
        assert control.stop(state_dir) is False
        assert other.poll() is None, "stop signalled a process that is not the lab service"
    finally:
        other.kill()
        other.wait()
    assert not pid_exists(pid)


def test_stop_when_nothing_runs_is_harmless(state_dir: Path) -> None:
    assert control.stop(state_dir) is False


def test_bad_release_fails_health_but_answers_version_and_keeps_writes(
    state_dir: Path, port: int
) -> None:
    control.start(state_dir, port=port, version="2", mode="bad")
    base = f"http://127.0.0.1:{port}"

    status, health = get(f"{base}/health")
    assert status == 503
    assert health["status"] == "failing"
    assert health["version"] == "2"
    assert health["reason"]
    assert get(f"{base}/version") == (200, {"version": "2", "mode": "bad"})
    assert post(f"{base}/ledger", {"seq": 1}) == (200, {"seq": 1, "ack": True})


def test_slow_release_delays_answers_by_slow_ms(state_dir: Path, port: int) -> None:
    control.start(state_dir, port=port, version="3", mode="slow", slow_ms=300)

    began = time.monotonic()
    status, _ = get(f"http://127.0.0.1:{port}/health")

    assert status == 200
    assert time.monotonic() - began >= 0.3


def test_start_when_running_replaces_the_old_process(state_dir: Path, port: int) -> None:
    old = control.start(state_dir, port=port, version="1")

    new = control.start(state_dir, port=port, version="2")

    assert new != old
    assert not pid_exists(old)
    assert get(f"http://127.0.0.1:{port}/version") == (200, {"version": "2", "mode": "good"})
    info = control.status(state_dir)
    assert info is not None
    assert (info["pid"], info["version"]) == (new, "2")


def test_start_on_a_port_taken_by_another_process_fails_naming_the_port(
    state_dir: Path, port: int
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()

        with pytest.raises(control.LabError, match=f"port {port} .*already in use"):
            control.start(state_dir, port=port, version="1")

    assert control.status(state_dir) is None


def test_start_fails_with_the_service_reason_when_the_ledger_cannot_open(
    state_dir: Path, tmp_path: Path, port: int
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")

    with pytest.raises(control.LabError, match="cannot open ledger"):
        control.start(state_dir, port=port, version="1", db=not_a_dir / "ledger.sqlite")

    assert control.status(state_dir) is None


def test_serve_exits_zero_on_sigterm(tmp_path: Path, port: int) -> None:
    command = ["serve", "--port", str(port), "--db", str(tmp_path / "ledger.sqlite")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "lab", *command], cwd=REPO_ROOT, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while not port_open(port):
            assert proc.poll() is None and time.monotonic() < deadline, "serve never listened"
            time.sleep(0.05)

        proc.send_signal(signal.SIGTERM)

        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def test_cli_start_status_stop_round_trip(state_dir: Path, port: int) -> None:
    started = run_cli("start", "--state-dir", str(state_dir), "--port", str(port), "--version", "4")
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("lab service v4 (good) pid ")
    assert started.stdout.strip().endswith(f"on http://127.0.0.1:{port}")

    status = run_cli("status", "--state-dir", str(state_dir), "--json")
    assert status.returncode == 0
    pid = json.loads(status.stdout)["pid"]

    stopped = run_cli("stop", "--state-dir", str(state_dir))
    assert stopped.returncode == 0
    assert stopped.stdout.startswith("stopped")
    assert not control.status(state_dir)
    assert not port_open(port)
    assert not pid_alive_outside_zombie(pid)

    again = run_cli("stop", "--state-dir", str(state_dir))
    assert (again.returncode, again.stdout.startswith("no lab service")) == (0, True)


def pid_alive_outside_zombie(pid: int) -> bool:
    # The CLI's service is reparented to init; if init is slow to reap, a zombie is dead enough.
    if not pid_exists(pid):
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"


def test_cli_start_on_a_taken_port_exits_1_with_the_reason(state_dir: Path, port: int) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()

        result = run_cli("start", "--state-dir", str(state_dir), "--port", str(port))

    assert result.returncode == 1
    assert f"port {port}" in result.stderr


@pytest.mark.parametrize(
    "args", [["--help"], ["start", "--help"], ["serve", "--help"], ["stop", "--help"]]
)
def test_cli_help_teaches_and_exits_zero(args: list[str]) -> None:
    result = run_cli(*args)

    assert result.returncode == 0
    assert "example" in result.stdout


@pytest.mark.parametrize("args", [[], ["start"], ["start", "--port", "0"], ["bogus"]])
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    assert run_cli(*args).returncode == 2


def test_admin_outage_fails_health_for_exactly_its_seconds_and_records_the_truth(
    state_dir: Path, port: int
) -> None:
    control.start(state_dir, port=port, version="1")
    base = f"http://127.0.0.1:{port}"

    before = time.monotonic()
    status, outage = post(f"{base}/admin/outage?seconds=0.6")
    after = time.monotonic()
    assert status == 200
    # CLOCK_MONOTONIC is one clock for the whole machine: the service's times are ours.
    start, end = float(str(outage["start_mono"])), float(str(outage["end_mono"]))
    assert before <= start <= after
    assert end - start == pytest.approx(0.6)

    failing_status, failing = get(f"{base}/health")
    assert failing_status == 503
    assert failing["status"] == "failing"
    assert "admin outage" in str(failing["reason"])

    time.sleep(max(0.0, end - time.monotonic()) + 0.01)
    assert get(f"{base}/health") == (200, {"status": "ok", "version": "1"})
    status, truth = get(f"{base}/admin/truth")
    assert status == 200
    assert truth["outages"] == [outage]
    assert float(str(outage["end_wall"])) - float(str(outage["start_wall"])) == pytest.approx(0.6)


def test_admin_outage_of_zero_seconds_never_fails_health(state_dir: Path, port: int) -> None:
    control.start(state_dir, port=port, version="1")
    base = f"http://127.0.0.1:{port}"

    assert post(f"{base}/admin/outage?seconds=0")[0] == 200

    assert get(f"{base}/health")[0] == 200


def test_admin_lose_deletes_the_newest_acknowledged_writes_and_names_them(
    state_dir: Path, port: int
) -> None:
    control.start(state_dir, port=port, version="1")
    base = f"http://127.0.0.1:{port}"
    for seq in range(1, 8):
        post(f"{base}/ledger?seq={seq}")

    status, loss = post(f"{base}/admin/lose?count=3")

    assert status == 200
    lost = cast(list[dict[str, float]], loss["lost"])
    survivor = cast(dict[str, float], loss["newest_survivor"])
    assert [r["seq"] for r in lost] == [5, 6, 7]
    assert survivor["seq"] == 4
    acks = [survivor["acked_at"]] + [r["acked_at"] for r in lost]
    assert acks == sorted(acks)
    assert loss["rpo_s"] == pytest.approx(lost[-1]["acked_at"] - survivor["acked_at"])
    assert get(f"{base}/ledger") == (200, {"seqs": [1, 2, 3, 4], "count": 4})
    assert get(f"{base}/admin/truth")[1]["losses"] == [loss]


def test_admin_lose_of_zero_deletes_nothing_and_its_rpo_is_zero(state_dir: Path, port: int) -> None:
    control.start(state_dir, port=port, version="1")
    base = f"http://127.0.0.1:{port}"
    post(f"{base}/ledger?seq=1")

    status, loss = post(f"{base}/admin/lose?count=0")

    assert (status, loss["lost"], loss["rpo_s"]) == (200, [], 0.0)
    assert get(f"{base}/ledger")[1]["seqs"] == [1]


def test_admin_lose_of_everything_has_no_recovery_point(state_dir: Path, port: int) -> None:
    control.start(state_dir, port=port, version="1")
    base = f"http://127.0.0.1:{port}"
    post(f"{base}/ledger?seq=1")

    _, loss = post(f"{base}/admin/lose?count=5")

    assert (loss["requested"], loss["newest_survivor"], loss["rpo_s"]) == (5, None, None)
    assert [r["seq"] for r in cast(list[dict[str, int]], loss["lost"])] == [1]


def test_ledger_from_before_ack_times_gains_the_column_and_keeps_its_records(
    state_dir: Path, port: int
) -> None:
    state_dir.mkdir(parents=True)
    with closing(sqlite3.connect(state_dir / "ledger.sqlite")) as db, db:
        db.execute("CREATE TABLE ledger (seq INTEGER PRIMARY KEY, written_at REAL)")
        db.execute("INSERT INTO ledger VALUES (1, 0.0)")
    control.start(state_dir, port=port, version="1")
    base = f"http://127.0.0.1:{port}"

    post(f"{base}/ledger?seq=2")

    assert get(f"{base}/ledger")[1]["seqs"] == [1, 2]
    # The old record has no ack time, so it can neither be "lost" nor the recovery point.
    _, loss = post(f"{base}/admin/lose?count=5")
    assert [r["seq"] for r in cast(list[dict[str, int]], loss["lost"])] == [2]
    assert loss["newest_survivor"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/admin/outage",
        "/admin/outage?seconds=-1",
        "/admin/outage?seconds=soon",
        "/admin/outage?seconds=nan",
        "/admin/outage?seconds=1e9",
        "/admin/lose",
        "/admin/lose?count=1.5",
        "/admin/lose?count=-2",
    ],
)
def test_admin_request_without_a_usable_number_is_rejected(
    state_dir: Path, port: int, path: str
) -> None:
    control.start(state_dir, port=port, version="1")

    status, answer = post(f"http://127.0.0.1:{port}{path}")

    assert status == 400
    assert ("seconds" if "outage" in path else "count") in str(answer["error"])


def test_admin_controls_ignore_slow_mode(state_dir: Path, port: int) -> None:
    control.start(state_dir, port=port, version="3", mode="slow", slow_ms=500)

    began = time.monotonic()
    status, outage = post(f"http://127.0.0.1:{port}/admin/outage?seconds=1")

    assert status == 200
    assert float(str(outage["start_mono"])) - began < 0.4


def test_every_acknowledged_write_has_its_ack_time_in_the_file_after_a_stop(
    state_dir: Path, port: int
) -> None:
    control.start(state_dir, port=port, version="1")
    before = time.monotonic()
    for seq in (1, 2, 3):
        post(f"http://127.0.0.1:{port}/ledger?seq={seq}")
    after = time.monotonic()

    control.stop(state_dir)

    with closing(sqlite3.connect(state_dir / "ledger.sqlite")) as db:
        acks = [t for (t,) in db.execute("SELECT acked_at FROM ledger ORDER BY seq")]
    assert len(acks) == 3
    assert before <= acks[0] < acks[1] < acks[2] <= after
