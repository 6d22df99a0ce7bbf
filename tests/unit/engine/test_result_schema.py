"""result.json has one shape, RunResult: what the runner writes and what a rebuild from the
journal gives both fit the JSON Schema generated from it, and the schema refuses a result
with a value of the wrong type, a missing field or a key it does not know."""

from __future__ import annotations

import copy
import json
import signal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner.history.rebuild import rebuild_result
from runner.results.codec import ResultShapeError, decode, result_json
from runner.results.model import RunResult
from runner.results.schema import result_schema
from tests.conftest import REPO
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import InProcessRun, Signals, run_drill, write_inventory

SCHEMA = json.loads((REPO / "docs" / "schema" / "result.schema.json").read_text())


def errors(result: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(result)
    ]


def playbook(rollback: str = "ok undo", objectives: str = "") -> str:
    """A drill with a fault, a triggered rollback and checklist items of both kinds."""
    return (
        "drill: result shape\nrollback_type: 2\nrollback_when: always\n"
        f"{objectives}"
        "checklists:\n"
        "  before:\n    - {id: notified, text: Stakeholders notified, confirm: true}\n"
        "  after:\n    - {id: healthy, text: Service healthy, step: check}\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        "inject:\n"
        "  - name: slow\n"
        "    fault: {kind: custom, name: slow, inject: 'fault-on slow', "
        "revert: 'fault-off slow', check: 'fault-check slow'}\n"
        f"rollback:\n  - {{name: undo, shell: {rollback}}}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
        "cleanup:\n  - {name: tidy, shell: ok tidy}\n"
    )


def passed_run(tmp_path: Path) -> InProcessRun:
    return run_drill(playbook(), tmp_path, FakeTarget(), confirm=("notified",))


def failed_run(tmp_path: Path) -> InProcessRun:
    # An RTO objective without an availability probe: not measured, one more issue.
    text = playbook(rollback="fail undo", objectives="objectives: {rto: 60s}\n")
    return run_drill(text, tmp_path, FakeTarget())


def error_run(tmp_path: Path) -> InProcessRun:
    target = FakeTarget()
    target.unreachable = {"h1"}
    inventory = write_inventory(tmp_path, {"h1": {}})
    return run_drill(playbook(), tmp_path, target, inventory=inventory)


def interrupted_run(tmp_path: Path) -> InProcessRun:
    target, signals = FakeTarget(), Signals()
    target.on("change", lambda call: signals.send(signal.SIGINT))
    return run_drill(playbook(), tmp_path, target, signals)


RUNS = {
    "passed": passed_run,
    "failed": failed_run,
    "error": error_run,
    "interrupted": interrupted_run,
}


@pytest.mark.parametrize("status", sorted(RUNS))
def test_the_result_json_a_run_writes_fits_the_committed_schema(
    status: str, tmp_path: Path
) -> None:
    run = RUNS[status](tmp_path)
    result = run.result()
    assert result["status"] == status
    assert errors(result) == []
    # The file is exactly the serialisation of its RunResult: nothing more, nothing less.
    assert result_json(decode(RunResult, result)) == result
    assert status == "passed" or result["issues"][0]["kind"] == "run"


@pytest.mark.parametrize("status", sorted(RUNS))
def test_a_result_rebuilt_from_the_journal_fits_the_schema_and_equals_the_runners(
    status: str, tmp_path: Path
) -> None:
    run = RUNS[status](tmp_path)
    written = run.result()
    rebuilt = result_json(rebuild_result(run.events(), "result.json deleted"))
    assert errors(rebuilt) == []
    assert rebuilt["rebuilt_from"] == {
        "journal": "journal.jsonl",
        "why": "result.json deleted",
        "events": len(run.events()),
    }
    # The journal holds the confirmations, not the playbook's checklist items.
    assert "checklists" not in rebuilt and written["checklists"]
    # The faults, their injection instants included, are the runner's to the millisecond.
    assert rebuilt.pop("faults") == written.pop("faults")
    same = {k: v for k, v in written.items() if k != "checklists"}
    assert {k: v for k, v in rebuilt.items() if k != "rebuilt_from"} == same


def test_a_rebuild_of_a_journal_cut_mid_run_fits_the_schema_as_an_error(tmp_path: Path) -> None:
    events = passed_run(tmp_path).events()
    cut = next(
        i
        for i, e in enumerate(events)
        if e["event"] == "phase_started" and e["phase"] == "rollback"
    )
    rebuilt = result_json(rebuild_result(events[: cut + 1], "no result.json"))
    assert errors(rebuilt) == []
    assert rebuilt["status"] == "error" and "stopped before the end" in rebuilt["reason"]
    assert rebuilt["objectives"] == {"rto_s": None, "rpo_s": None}  # not journaled yet


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return passed_run(tmp_path_factory.mktemp("shape")).result()


def changed(
    result: dict[str, Any], path: str, value: Any = ..., *, delete: bool = False
) -> dict[str, Any]:
    out = copy.deepcopy(result)
    *parents, key = path.split("/")
    node: Any = out
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if delete:
        del node[key]
    elif isinstance(node, list):
        node[int(key)] = value
    else:
        node[key] = value
    return out


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("duration_s", "3.1"),  # a number as a string
        ("status", "ok"),  # not a status
        ("measured/rto_s", "fast"),
        ("rolled_back", 1),  # an integer is no boolean
        ("steps/0/rc", 0.5),
        ("faults/0/targets", "h1"),  # a string is no list
        ("checklists/0/state", "done"),
        ("schema_version", 2),
    ],
)
def test_the_schema_refuses_a_value_of_the_wrong_type(
    written: dict[str, Any], path: str, value: Any
) -> None:
    assert errors(written) == []
    assert errors(changed(written, path, value))
    with pytest.raises(ResultShapeError):
        decode(RunResult, changed(written, path, value))


@pytest.mark.parametrize(
    "path",
    ["status", "measured", "measured/rto_s", "issues", "phases/0/duration_s", "provenance/journal"],
)
def test_the_schema_refuses_a_result_missing_a_required_field(
    written: dict[str, Any], path: str
) -> None:
    assert errors(changed(written, path, delete=True))
    with pytest.raises(ResultShapeError, match="missing"):
        decode(RunResult, changed(written, path, delete=True))


def test_the_schema_refuses_an_unknown_key_but_allows_the_optional_ones_left_out(
    written: dict[str, Any],
) -> None:
    assert errors(changed(written, "measured/rto_ms", 1.0))
    assert errors(changed(written, "surprise", True))
    # Left out by design: checklists (a rebuild), skipped_reason and empty trigger values.
    assert errors(changed(written, "checklists", delete=True)) == []
    assert errors(changed(written, "trigger/detail", delete=True)) == []
    # Left out, never written as null.
    assert errors(changed(written, "checklists", None))
    assert errors(changed(written, "rebuilt_from", None))
    assert "rebuilt_from" not in written and "rebuilt_from" in SCHEMA["properties"]


def test_the_committed_schema_is_the_one_generated_from_run_result() -> None:
    assert result_schema() == SCHEMA
    assert set(SCHEMA["required"]) == {
        name
        for name in RunResult.__dataclass_fields__
        if name not in ("checklists", "rebuilt_from")
    }
