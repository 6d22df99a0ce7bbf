"""The engine runs a drill and knows nothing of the use case around it or of the result
it leads to; the result knows nothing of the reports and the history that read it."""

from __future__ import annotations

import pytest

from tests.unit.test_import_graph import _graph

ABOVE = {
    "runner.engine": ("runner.run", "runner.results", "runner.report", "runner.history"),
    "runner.results": ("runner.run", "runner.report", "runner.history", "runner.cli"),
    # history/cli.py and history/report_cli.py are the interface, leaving for runner.cli.
    "runner.history.rebuild": ("runner.run", "runner.report"),
}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("package", sorted(ABOVE))
def test_a_layer_imports_nothing_above_it(package: str) -> None:
    graph = _graph()
    assert any(_within(m, package) for m in graph), f"no module in {package}"
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _within(module, package)
        for target in targets
        if any(_within(target, above) for above in ABOVE[package])
    )
    assert upward == []


def test_the_check_sees_an_upward_import() -> None:
    graph = _graph()
    # runner.run sits above runner.results: the same check on it must find the import.
    assert any(_within(t, "runner.results") for t in graph["runner.run.evidence"])
