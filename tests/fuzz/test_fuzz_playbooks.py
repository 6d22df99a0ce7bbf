"""Fuzzing the playbook loader and the linter: any text is loaded, or refused with findings
that name a line and a column; nothing else escapes, nothing hangs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from runner.errors import InputError
from runner.inventory import load_inventory
from runner.inventory.model import Inventory
from runner.lint.linter import lint_file
from runner.playbook.loader import load_playbook
from tests.fuzz.playbook_strategies import playbooks, valid_playbooks
from tests.fuzz.strategies import (
    REPO,
    assert_located,
    dump,
    fuzz_settings,
    mutated,
    repo_files,
    steer,
)

EXAMPLE_PLAYBOOKS = repo_files("playbooks/*.yml")
LOCAL = load_inventory(REPO / "inventories" / "local.yml")


def check_load(text: str) -> None:
    text = steer(text)
    try:
        playbook, doc = load_playbook("drill.yml", text)
    except InputError as exc:
        assert_located(exc.diagnostics)
        return
    assert playbook.drill == doc.value["drill"] or playbook.drill == str(doc.value["drill"])


def check_lint(path: Path, text: str, inventory: Inventory | None) -> None:
    path.write_text(steer(text), encoding="utf-8", errors="surrogatepass")
    findings = lint_file(path, inventory=inventory, extra_vars=["lab_port"])
    for d in findings:
        assert d.line >= 1 and d.col >= 1 and d.message, d
        assert d.severity in ("error", "warning"), d


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-playbooks")


@fuzz_settings(150)
@given(book=playbooks())
@example(book={"drill": "x", "rollback_type": 2, "verify": [{"command": "echo {{ 9**9 }}"}]})
@example(book={"drill": "x", "rollback_type": 2, "objectives": {"rto": float("nan")}})
@example(book={"drill": "x", "rollback_type": 5, "deploy": [{"fault": {"kind": "{{ k }}"}}]})
def test_generated_playbooks_load_or_are_refused_with_located_findings(
    book: dict[str, Any], workdir: Path
) -> None:
    text = dump(book)
    check_load(text)
    check_lint(workdir / "generated.yml", text, LOCAL)


@fuzz_settings(150)
@given(book=valid_playbooks())
def test_every_lint_rule_runs_on_valid_playbooks_without_escaping(
    book: dict[str, Any], workdir: Path
) -> None:
    check_lint(workdir / "valid.yml", dump(book), LOCAL)
    check_lint(workdir / "valid.yml", dump(book), None)


@fuzz_settings(150)
@given(data=st.data(), source=st.sampled_from(EXAMPLE_PLAYBOOKS))
def test_mutated_example_playbooks_load_or_are_refused_with_located_findings(
    data: st.DataObject, source: str, workdir: Path
) -> None:
    text = data.draw(mutated(source))
    check_load(text)
    check_lint(workdir / "mutated.yml", text, data.draw(st.sampled_from([None, LOCAL])))


@fuzz_settings(100)
@given(text=st.text(max_size=200))
@example(text="")
@example(text="a: &a [*a]")
@example(text="{{")
@example(text="- - - -\n")
@example(text="drill: x\nrollback_type: 2\n<<: [1]\n")
def test_arbitrary_text_is_loaded_or_refused_with_located_findings(
    text: str, workdir: Path
) -> None:
    check_load(text)
    check_lint(workdir / "text.yml", text, None)
