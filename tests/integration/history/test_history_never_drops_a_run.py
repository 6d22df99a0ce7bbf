"""History never drops a run: unique run ids however fast runs start, a collision is an error,
and a run rebuilt from its journal has exactly the figures of its result.json."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runner.history import open_store
from runner.history.store import RunIdCollision
from tests.conftest import child_env, drillctl_argv
from tests.integration.history.test_history import figures_of

pytestmark = pytest.mark.integration

RUNS = 30
REBUILT = 20

# A drill with a real outage and recovery for the availability probe to measure, fast enough
# to start thirty at once: the service is "up" while its flag file exists.
PLAYBOOK = """\
drill: flag file outage
component: flag-service
rollback_type: 1
objectives: {rto: 30s}
probes:
  up:
    command: "test -f {{ run_dir }}/up"
    every: 50ms
prepare:
  - {name: bring it up, shell: "touch {{ run_dir }}/up"}
  - {name: let the probe see it up, pause: 300ms}
deploy:
  - {name: break it, shell: "rm {{ run_dir }}/up"}
  - {name: stay broken a moment, pause: 300ms}
rollback:
  - {name: bring it back, shell: "touch {{ run_dir }}/up"}
verify:
  - {name: stays up, pause: 500ms}
  - {name: is up, shell: "test -f {{ run_dir }}/up"}
"""


@pytest.fixture(scope="module")
def parallel_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """RUNS drills started at once (each on its own inventory, so no lock serialises them),
    every one recording into one history and its run directory under drills/runs/."""
    work = tmp_path_factory.mktemp("parallel")
    playbook = work / "outage.yml"
    playbook.write_text(PLAYBOOK)
    history = work / "history.db"
    procs = []
    for i in range(RUNS):
        inventory = work / f"inventory-{i}.yml"
        inventory.write_text(
            textwrap.dedent(
                """\
                all:
                  hosts:
                    localhost: {connection: local, address: 127.0.0.1}
                """
            )
        )
        argv = drillctl_argv("run", str(playbook), "-i", str(inventory))
        procs.append(
            subprocess.Popen(
                argv,
                cwd=work,
                env=child_env(DRILLCTL_HISTORY=str(history)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output
        assert "not in the history" not in output, output
    run_dirs = sorted((work / "drills" / "runs").iterdir())
    return history, run_dirs


def result_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "result.json").read_text())
    return data


def test_thirty_runs_started_at_once_give_thirty_rows(
    parallel_runs: tuple[Path, list[Path]],
) -> None:
    history, run_dirs = parallel_runs
    assert len(run_dirs) == RUNS  # no two runs shared a directory
    ids = {result_of(d)["run_id"] for d in run_dirs}
    assert len(ids) == RUNS
    with open_store(history) as store:
        rows = store.runs()
    assert len(rows) == RUNS
    assert {r.run_id for r in rows} == ids
    assert {r.run_dir for r in rows} == {str(d.resolve()) for d in run_dirs}
    # Many of them started within one second: the id's second alone would have collided.
    seconds = [r.run_id.split("-", 1)[0] for r in rows]
    assert len(set(seconds)) < RUNS


def test_runs_rebuilt_from_their_journals_equal_their_result_json_exactly(
    parallel_runs: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    _, run_dirs = parallel_runs
    history = tmp_path / "rebuilt.db"
    with open_store(history) as store:
        for original in run_dirs[:REBUILT]:
            copy = tmp_path / original.name
            shutil.copytree(original, copy)
            (copy / "result.json").unlink()
            row, how = store.import_run(copy)
            assert (how, row.source) == ("added", "journal")
            stored = store.get(row.run_id)
            assert stored is not None
            expected = result_of(original)
            assert expected["measured"]["rto_s"] is not None  # a real figure, not two nulls
            assert figures_of(stored.result) == figures_of(expected), original.name


def test_recording_another_run_under_a_taken_id_is_an_error_not_a_replace(
    parallel_runs: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    _, run_dirs = parallel_runs
    first, second = result_of(run_dirs[0]), result_of(run_dirs[1])
    impostor = {**second, "run_id": first["run_id"]}
    with open_store(tmp_path / "h.db") as store:
        assert store.record(first, run_dirs[0]) == "added"
        with pytest.raises(RunIdCollision, match="refusing to replace it"):
            store.record(impostor, run_dirs[1])
        [row] = store.runs()
        assert (row.run_id, row.started_at) == (first["run_id"], first["started_at"])
        # The same run again (a re-import) is still idempotent.
        assert store.record(first, run_dirs[0]) == "replaced"


def test_importing_a_colliding_run_is_exit_2_and_keeps_the_first(
    parallel_runs: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    _, run_dirs = parallel_runs
    first = result_of(run_dirs[0])
    other = tmp_path / "other"
    shutil.copytree(run_dirs[1], other)
    (other / "result.json").write_text(
        json.dumps({**result_of(run_dirs[1]), "run_id": first["run_id"]})
    )
    history = tmp_path / "h.db"
    env = child_env(DRILLCTL_HISTORY=str(history))
    argv = drillctl_argv("history", "import", str(run_dirs[0]), str(other))
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"run id {first['run_id']!r} is already in the history" in proc.stderr
    with open_store(history) as store:
        [row] = store.runs()
    assert row.started_at == first["started_at"]
