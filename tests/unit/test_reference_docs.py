"""The committed reference docs are what `python -m runner.docs_gen` generates from the code,
and they name every key of every schema, every action, fault kind and lint rule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import docs_gen
from runner.actions import ACTIONS
from runner.actions.fault import COMMON
from runner.faults.registry import FAULTS
from runner.inventory.schema import INVENTORY_SCHEMA
from runner.lint.rules import RULES
from runner.playbook.schema import playbook_schema
from runner.playbook.step_schema import STEP_KEYWORDS

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return docs_gen.generate()


@pytest.mark.parametrize("name", sorted(docs_gen.DOCS))
def test_the_committed_doc_is_the_generated_one(name: str, generated: dict[str, str]) -> None:
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == generated[name], (
        f"docs/{name} is out of date: run `python -m runner.docs_gen` and commit the result"
    )


def keys(schema: Any) -> Iterator[str]:
    """Every property name anywhere in a schema (branches, items and named maps included)."""
    if isinstance(schema, dict):
        yield from schema.get("properties", {})
        for value in schema.values():
            yield from keys(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from keys(item)


def named(key: str, text: str) -> bool:
    """Whether the doc shows `key` as a key (alone, or as the last part of a dotted path)."""
    return re.search(rf"`(?:[^`\s]*[.\]])?{re.escape(key)}`", text) is not None


def test_every_playbook_schema_key_is_documented(generated: dict[str, str]) -> None:
    text = generated["playbook-reference.md"]
    schema = playbook_schema()
    missing = {k for k in keys(schema) if not named(k, text)}
    assert missing == set()
    for keyword in STEP_KEYWORDS:
        assert named(keyword, text), keyword
    for key in COMMON:
        assert named(key, text), key


def test_every_action_and_fault_kind_has_a_section_with_its_arguments(
    generated: dict[str, str],
) -> None:
    text = generated["playbook-reference.md"]
    for name, action in ACTIONS.items():
        assert f"### `{name}`" in text, name
        assert action.description in text
        assert {k for k in keys(action.schema) if not named(k, text)} == set(), name
    for kind, fault in FAULTS.items():
        section = text.split(f"### `{kind}`\n", 1)[1].split("\n### ", 1)[0]
        assert fault.description in section, kind
        assert {k for k in keys(fault.schema) if not named(k, section)} == set(), kind


def test_every_inventory_schema_key_is_documented(generated: dict[str, str]) -> None:
    text = generated["inventory-reference.md"]
    assert {k for k in keys(INVENTORY_SCHEMA) if not named(k, text)} == set()


def test_every_lint_rule_is_documented_with_its_severity_rationale_and_doc(
    generated: dict[str, str],
) -> None:
    text = generated["lint-rules.md"]
    for rule in RULES.values():
        section = text.split(f"\n## {rule.id}\n", 1)[1].split("\n## ", 1)[0]
        assert f"**{rule.severity}**: {rule.rationale}" in section
        assert rule.doc.splitlines()[0] in section


def test_every_key_row_has_a_type_a_description_and_an_example(
    generated: dict[str, str],
) -> None:
    for name in ("playbook-reference.md", "inventory-reference.md"):
        for line in generated[name].splitlines():
            if not line.startswith("| `"):
                continue
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            key, kind, _default, description, example = cells
            assert kind and description and example != "—", f"{name}: {line}"


def test_check_mode_reports_a_stale_doc(tmp_path: Path) -> None:
    assert docs_gen.main(["--out", str(tmp_path)]) == 0
    assert docs_gen.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "lint-rules.md").write_text("stale\n")
    assert docs_gen.main(["--out", str(tmp_path), "--check"]) == 1
