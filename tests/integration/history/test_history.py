"""The run history on real runs: record, import, rebuild from the journal, survive kill -9,
agree between SQLite and PostgreSQL, and carry a quarter's drill plan into its report."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runner.history import Quarter, open_store, record_run
from runner.history.migrations import LATEST
from runner.history.rebuild import load_run
from tests.conftest import REPO, child_env, drillctl_argv, free_port
from tests.lab.postgres import throwaway_postgres

pytestmark = pytest.mark.integration


def drillctl(
    *args: str, history: Path | str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """drillctl as a user runs it, from the repository, with its own history (so nothing is
    recorded in the repository's drills/history.db)."""
    return subprocess.run(
        drillctl_argv(*args),
        cwd=REPO,
        env=child_env(DRILLCTL_HISTORY=str(history)),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real quick-start drill on the local lab (not recorded anywhere)."""
    out = tmp_path_factory.mktemp("quickstart") / "run"
    proc = drillctl(
        "run", "playbooks/quickstart.yml", "-i", "inventories/local.yml",
        "-e", f"lab_port={free_port()}", "--out", str(out), history="off",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def result_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "result.json").read_text())
    return data


# What a rebuild from the journal must give exactly as result.json has it (==, no tolerance).
FIGURE_KEYS = (
    "run_id", "drill", "component", "status", "reason", "started_at", "ended_at", "duration_s",
    "rollback_type", "objectives", "budget_s", "measured", "verdicts", "rolled_back",
    "rollback_succeeded", "trigger", "phases", "steps", "issues",
)  # fmt: skip


def figures_of(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result.get(k) for k in FIGURE_KEYS}


# -- record, import, list ------------------------------------------------------------------


def test_drillctl_run_records_the_finished_run_in_the_history(tmp_path: Path) -> None:
    db, out = tmp_path / "history.db", tmp_path / "run"
    proc = drillctl(
        "run", "playbooks/quickstart.yml", "-i", "inventories/local.yml",
        "-e", f"lab_port={free_port()}", "--out", str(out), history=db,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open_store(db) as store:
        [row] = store.runs()
    assert row.run_id == result_of(out)["run_id"]
    assert (row.status, row.run_dir, row.source) == ("passed", str(out.resolve()), "result.json")


def test_history_import_is_idempotent_and_lists_the_run(
    quickstart_run: Path, tmp_path: Path
) -> None:
    db = tmp_path / "history.db"
    first = drillctl("history", "import", str(quickstart_run), history=db)
    again = drillctl("history", "import", str(quickstart_run), history=db)
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.startswith("added: ") and again.stdout.startswith("replaced: ")
    result = result_of(quickstart_run)
    quarter = str(Quarter.of_timestamp(result["started_at"]))
    listed = drillctl("history", "list", "--quarter", quarter, "--format", "json", history=db)
    [row] = json.loads(listed.stdout)
    assert row["run_id"] == result["run_id"]
    assert row["time_to_rollback_s"] == result["measured"]["time_to_rollback_s"]
    assert row["lost_writes"] == result["measured"]["lost_writes"] == 0
    shown = drillctl("history", "show", result["run_id"], "--format", "json", history=db)
    assert json.loads(shown.stdout) == result
    with open_store(db) as store:
        assert store.step_count(result["run_id"]) == len(result["steps"])
    other = drillctl("history", "list", "--component", "nothing-like-it", history=db)
    assert other.returncode == 0 and result["run_id"] not in other.stdout


def test_a_run_that_cannot_be_recorded_only_warns(
    quickstart_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_database = tmp_path / "history.db"
    not_a_database.write_text("this is not SQLite")
    assert record_run(None, quickstart_run, str(not_a_database)) is False
    warning = capsys.readouterr().err
    assert "warning: the run is not in the history" in warning
    assert f"drillctl history import {quickstart_run}" in warning
    assert record_run(None, quickstart_run, "off") is False


def test_history_show_of_an_unknown_run_is_bad_input(tmp_path: Path) -> None:
    proc = drillctl("history", "show", "no-such-run", history=tmp_path / "h.db")
    assert proc.returncode == 2
    assert "no run 'no-such-run'" in proc.stderr and "Traceback" not in proc.stderr


def test_import_rebuilds_a_run_from_its_journal_when_result_json_is_gone(
    quickstart_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(quickstart_run, run_dir)
    (run_dir / "result.json").unlink()
    db = tmp_path / "history.db"
    proc = drillctl("history", "import", str(run_dir), history=db)
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt from its journal" in proc.stdout
    original = result_of(quickstart_run)
    with open_store(db) as store:
        stored = store.get(original["run_id"])
    assert stored is not None and stored.row.source == "journal"
    assert figures_of(stored.result) == figures_of(original)


def test_import_refuses_a_journal_whose_hash_chain_is_broken(
    quickstart_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(quickstart_run, run_dir)
    lines = (run_dir / "journal.jsonl").read_text().splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if '"event":"host_result"' in line)
    lines[n] = lines[n].replace('"status":"ok"', '"status":"failed"')  # a step made to fail
    (run_dir / "journal.jsonl").write_text("".join(lines))
    db = tmp_path / "history.db"
    proc = drillctl("history", "import", str(run_dir), history=db)
    assert proc.returncode == 2
    assert f"{run_dir}/journal.jsonl:{n + 1}:1: " in proc.stderr
    assert "hash" in proc.stderr and "refusing to import" in proc.stderr
    with open_store(db) as store:
        assert store.runs() == []


def test_import_of_a_crashed_run_keeps_what_its_journal_proved(
    quickstart_run: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    lines = (quickstart_run / "journal.jsonl").read_bytes().splitlines(keepends=True)
    # The runner died mid-rollback, in the middle of writing a line.
    cut = (
        next(
            i
            for i, line in enumerate(lines)
            if b'"event":"phase_started","time"' in line and b'"phase":"rollback"' in line
        )
        + 2
    )
    (run_dir / "journal.jsonl").write_bytes(b"".join(lines[:cut]) + lines[cut][:40])
    db = tmp_path / "history.db"
    proc = drillctl("history", "import", str(run_dir), history=db)
    assert proc.returncode == 0, proc.stderr
    with open_store(db) as store:
        [row] = store.runs()
    assert (row.status, row.source, row.rolled_back, row.rollback_succeeded) == (
        "error",
        "journal",
        True,
        False,
    )
    assert row.reason is not None and "stopped before the end" in row.reason


def test_a_real_result_json_and_its_rebuilds_fit_the_committed_schema(
    quickstart_run: Path, tmp_path: Path
) -> None:
    schema = json.loads((REPO / "docs" / "schema" / "result.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    original = result_of(quickstart_run)
    assert list(validator.iter_errors(original)) == []
    assert original["availability"] and original["timeline"]["probe"]  # probes measured
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    shutil.copytree(quickstart_run, whole)
    (whole / "result.json").unlink()
    rebuilt = load_run(whole)
    assert rebuilt.source == "journal"
    assert list(validator.iter_errors(rebuilt.result)) == []
    # Measured again from the journaled samples: the same blocks the runner wrote.
    for key in ("measured", "timeline", "data", "baseline", "availability", "issues"):
        assert rebuilt.result[key] == original[key], key
    crashed.mkdir()
    lines = (quickstart_run / "journal.jsonl").read_bytes().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if b'"phase":"rollback"' in line) + 1
    (crashed / "journal.jsonl").write_bytes(b"".join(lines[:cut]))
    dead = load_run(crashed).result
    assert dead["status"] == "error" and list(validator.iter_errors(dead)) == []
    wrong = {**original, "duration_s": str(original["duration_s"])}
    assert [e.absolute_path[0] for e in validator.iter_errors(wrong)] == ["duration_s"]


# -- kill -9 in the middle of an insert ----------------------------------------------------

WRITER = textwrap.dedent(
    """\
    import json, sys, time
    from pathlib import Path
    from runner.history import open_store

    db, run_dir, mode, steps = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    result = json.loads((run_dir / "result.json").read_text())
    result["steps"] = [dict(result["steps"][0], name=f"step {i}") for i in range(steps)]
    store = open_store(db)
    if mode == "pause":
        # Inside the run's transaction: the runs row is written, its steps are next.
        real = store.db.executemany
        def paused(sql, rows):
            print("in transaction", flush=True)
            time.sleep(60)
            real(sql, rows)
        store.db.executemany = paused
    print("recording", flush=True)
    store.record(result, run_dir)
    print("recorded", flush=True)
    """
)
BIG = 200_000


def start_writer(db: Path, run_dir: Path, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(run_dir), mode, str(BIG)],
        cwd=REPO, env=child_env(), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc


def assert_consistent(db: Path, run_id: str) -> bool:
    """The database is intact and the run is absent or whole; True when present."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        runs = con.execute("SELECT COUNT(*) FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]
        steps = con.execute("SELECT COUNT(*) FROM steps WHERE run_id = ?", (run_id,)).fetchone()[0]
    finally:
        con.close()
    assert (runs, steps) in ((0, 0), (1, BIG)), f"half a run: {runs} runs row, {steps} steps"
    return bool(runs)


def test_kill_9_inside_the_insert_transaction_leaves_no_trace_and_import_restores_it(
    quickstart_run: Path, tmp_path: Path
) -> None:
    db = tmp_path / "history.db"
    run_id = result_of(quickstart_run)["run_id"]
    proc = start_writer(db, quickstart_run, "pause")
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "in transaction":
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not assert_consistent(db, run_id)
    proc = drillctl("history", "import", str(quickstart_run), history=db)
    assert proc.returncode == 0, proc.stderr
    with open_store(db) as store:
        [row] = store.runs()
        assert store.step_count(run_id) == len(result_of(quickstart_run)["steps"])
    assert row.run_id == run_id


def test_kill_9_at_random_points_of_a_large_insert_never_leaves_half_a_run(
    quickstart_run: Path, tmp_path: Path
) -> None:
    db = tmp_path / "history.db"
    run_id = result_of(quickstart_run)["run_id"]
    rng = random.Random(20261121)
    outcomes = []
    for _ in range(6):
        proc = start_writer(db, quickstart_run, "plain")
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "recording"
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        outcomes.append(assert_consistent(db, run_id))
    # The next writer opens the database after a killed one and finishes normally.
    proc = start_writer(db, quickstart_run, "plain")
    assert proc.wait(timeout=120) == 0
    assert assert_consistent(db, run_id)


# -- PostgreSQL and SQLite agree -----------------------------------------------------------

PG_PASSWORD = "history p@ss/word"


def _unavailable(message: str) -> None:
    """Under CI=true a missing PostgreSQL is a failure, never a silent skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 (password auth); yields its URL."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'psycopg[binary]')")
    with throwaway_postgres(PG_PASSWORD) as url:
        yield url


def synthetic(base: dict[str, Any], n: int) -> dict[str, Any]:
    """A varied copy of a real result, in 2026Q3 or 2026Q4."""
    rng = random.Random(n)
    month = 8 + n % 4  # August … November
    result = json.loads(json.dumps(base))
    result.update(
        run_id=f"synthetic-{n:03d}",
        component=rng.choice(["gateway", "orders", "pricing"]),
        status=rng.choice(["passed", "passed", "passed", "failed"]),
        started_at=f"2026-{month:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00.000Z",
    )
    result["measured"].update(
        time_to_rollback_s=round(rng.uniform(0.1, 900), 3),
        time_to_decide_s=round(rng.uniform(0.0, 60), 3),
        rto_s=None if n % 7 == 0 else round(rng.uniform(1, 120), 3),
        lost_writes=1 if n % 11 == 0 else 0,
    )
    return result


def test_sqlite_and_postgresql_give_the_same_quarterly_report(
    postgres: str, quickstart_run: Path, tmp_path: Path
) -> None:
    real = result_of(quickstart_run)
    results = [synthetic(real, n) for n in range(60)]
    sqlite_db = tmp_path / "history.db"
    for target in (str(sqlite_db), postgres):
        with open_store(target) as store:
            for result in results:
                store.record(result, quickstart_run)
            store.import_run(quickstart_run)
    reports = []
    for target in (str(sqlite_db), postgres):
        proc = drillctl(
            "quarterly", "2026Q4", "--format", "json", "--history", target, history="off"
        )
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert report.pop("generated_at") and report["drillctl_version"]  # when, and by what
        reports.append(report)
    assert reports[0] == reports[1]
    assert reports[0]["previous_runs"] > 0 and reports[0]["total"]["runs"] > 0
    with open_store(postgres) as store:
        assert store.version == LATEST
        assert len(store.runs()) == 61


def test_postgresql_url_without_a_server_is_an_environment_error(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    proc = drillctl("history", "list", "--history", url, history="off")
    assert proc.returncode == 3
    assert "cannot connect to run history" in proc.stderr and "Traceback" not in proc.stderr


# -- the quarter's drill plan --------------------------------------------------------------


def test_drill_run_runs_every_planned_drill_and_quarterly_counts_them(tmp_path: Path) -> None:
    # The sample plan, for today's quarter, on a copy of the local inventory: a lab that
    # another test runs on inventories/local.yml at the same time holds that one's lock.
    quarter = Quarter.of(datetime.now(timezone.utc).date())
    sample = yaml.safe_load((REPO / "drills/2026Q4.yml").read_text())
    inventory = tmp_path / "local.yml"
    shutil.copy(REPO / "inventories/local.yml", inventory)
    sample["quarter"] = str(quarter)
    for entry in sample["drills"]:
        entry.update(inventory=str(inventory), due=str(quarter.last_day))
    plan = tmp_path / "plan.yml"
    plan.write_text(yaml.safe_dump(sample))
    db = tmp_path / "history.db"
    proc = drillctl(
        "drill", "run", str(plan), "--runs-dir", str(tmp_path / "runs"),
        "-e", f"lab_port={free_port()}", "--history", str(db), history="off", timeout=600,
    )  # fmt: skip
    ids = [e["id"] for e in sample["drills"]]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(ids)} of {len(ids)} drills passed" in proc.stdout

    status = drillctl(
        "drill", "status", str(plan), "--format", "json", "--history", str(db), history="off"
    )
    assert status.returncode == 0, status.stderr
    states = {d["entry_id"]: d["state"] for d in json.loads(status.stdout)["drills"]}
    assert states == dict.fromkeys(ids, "done")
    # Each run recorded the entry it was made for, in its own evidence.
    for run_dir in (tmp_path / "runs").iterdir():
        entry = result_of(run_dir)["plan_entry"]
        assert entry in {f"{quarter}/{i}" for i in ids}, run_dir

    report = drillctl(
        "quarterly", str(quarter), "--plan", str(plan), "--format", "json", "--history", str(db),
        history="off",
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["total"]["runs"] == len(ids)
    assert [p["entry_id"] for p in data["plan"]] == ids
    assert {p["state"] for p in data["plan"]} == {"done"}
    assert data["total"]["rollback_success"]["value"] == 1.0
    with open_store(db) as store:
        entries = {r.plan_entry for r in store.runs()}
    assert entries == {f"{quarter}/{i}" for i in ids}
