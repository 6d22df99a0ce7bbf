"""The journal's event kinds are spelled in one registry and nowhere else."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

from runner.journal_events import FIELDS, Event

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "runner" / "journal_events.py"
SOURCES = sorted(p for p in (ROOT / "runner").rglob("*.py") if p != REGISTRY)

# Two kinds are also ordinary words of the domain: a run's status is "interrupted" and a
# playbook has a `decision:` key. For them a plain grep would flag those meanings, so they
# are checked where an event kind is meant: `.record(...)` and comparisons with `event`.
SHARED_WORDS = {Event.INTERRUPTED, Event.DECISION}


def _literal_hits(kind: str) -> list[str]:
    pattern = re.compile(rf"""(["']){re.escape(kind)}\1""")
    return [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in SOURCES
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]


def test_every_event_kind_is_spelled_only_in_the_registry() -> None:
    offenders = {
        kind.value: hits
        for kind in Event
        if kind not in SHARED_WORDS and (hits := _literal_hits(kind.value))
    }
    assert offenders == {}


def test_the_literal_check_finds_a_loose_kind() -> None:
    """The grep above would see a writer that spells a kind itself (it is not blind)."""
    pattern = re.compile(r"""(["'])fault_intent\1""")
    assert pattern.search('journal.record("fault_intent", fault_id=fault_id)')
    assert pattern.search("by_kind.get('fault_intent', [])")
    assert not pattern.search("journal.record(Event.FAULT_INTENT)")


def _is_event_lookup(node: ast.expr) -> bool:
    """`e["event"]` or `e.get("event")`."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "event"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return (
            node.func.attr == "get"
            and bool(node.args)
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "event"
        )
    return False


def _strings(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for elt in node.elts for s in _strings(elt)]
    return []


def _loose_kinds_in_event_context(tree: ast.AST) -> list[tuple[int, str]]:
    kinds = {k.value for k in Event}
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "record"
            and node.args
        ):
            found += [(node.lineno, s) for s in _strings(node.args[0]) if s in kinds]
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_event_lookup(side) for side in sides):
                found += [(node.lineno, s) for side in sides for s in _strings(side) if s in kinds]
    return found


def test_no_writer_or_reader_spells_an_event_kind() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {kind!r}"
        for path in SOURCES
        for line, kind in _loose_kinds_in_event_context(ast.parse(path.read_text()))
    ]
    assert offenders == []


def test_the_context_check_sees_the_shared_words() -> None:
    tree = ast.parse(
        'journal.record("interrupted", status=s)\n'
        'if e["event"] == "decision": pass\n'
        'if e.get("event") in ("run_finished", "interrupted"): pass\n'
        'status = "interrupted"\n'
    )
    assert sorted(_loose_kinds_in_event_context(tree)) == [
        (1, "interrupted"),
        (2, "decision"),
        (3, "interrupted"),
        (3, "run_finished"),
    ]


def _record_calls() -> list[tuple[str, int, Event, list[str | None]]]:
    calls = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and node.args
                and isinstance(node.args[0], ast.Attribute)
                and isinstance(node.args[0].value, ast.Name)
                and node.args[0].value.id == "Event"
            ):
                continue
            kind = Event[node.args[0].attr]
            calls.append(
                (str(path.relative_to(ROOT)), node.lineno, kind, [k.arg for k in node.keywords])
            )
    return calls


def test_writers_only_write_the_fields_the_registry_declares() -> None:
    calls = _record_calls()
    assert len(calls) >= 20  # the scan sees the writers
    undeclared = [
        f"{where}:{line}: {kind.value} has no field {name!r}"
        for where, line, kind, names in calls
        for name in names
        if name is not None and name not in FIELDS[kind]
    ]
    assert undeclared == []


def test_a_fired_trigger_is_journalled_with_the_declared_fields() -> None:
    """`trigger_fired` is written as `**trigger.__dict__`: the dataclass is its field list."""
    from runner.engine.outcome import Trigger

    assert {f.name for f in dataclasses.fields(Trigger)} == FIELDS[Event.TRIGGER_FIRED]


def test_every_kind_has_fields_and_a_user() -> None:
    assert set(FIELDS) == set(Event)
    text = "\n".join(p.read_text() for p in SOURCES)
    unused = [k.name for k in Event if f"Event.{k.name}" not in text]
    assert unused == []


def test_the_journal_doc_lists_every_kind() -> None:
    doc = (ROOT / "docs" / "journal.md").read_text()
    missing = [k.value for k in Event if f"`{k.value}`" not in doc]
    assert missing == []
