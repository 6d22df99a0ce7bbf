"""Test files are collected as top-level modules (the test folders are not packages), so two
test files with one name in different folders make pytest refuse to collect the second."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_name_is_used_once() -> None:
    paths: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        paths[path.name].append(str(path.relative_to(TESTS)))
    assert len(paths) > 100  # the walk found the suite
    assert {name: found for name, found in paths.items() if len(found) > 1} == {}
