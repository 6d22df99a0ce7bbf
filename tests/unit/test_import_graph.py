"""How the files of runner/ may import each other.

Three rules, all read from the source with `ast`, never by importing it:

- No file imports, directly or through others, a file that imports it back.
- No package does either: each subpackage of runner (runner.cli, runner.engine, ...) counts
  as one unit and each top-level module (runner/journal.py, ...) as its own, and no unit
  imports, through any path, a unit that imports it back. Two packages of one layer may not
  lean on each other either: one of them is below the other.
- The packages form layers (`LAYERS` below, top first): a file imports its own layer or a
  layer below it, never one above.

Imports anywhere in a file count (at the top, inside functions, under TYPE_CHECKING): a
circle or an upward reach through a late import is still one a reader has to hold in their
head. docs/architecture.md describes the same order for readers of the code.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[2] / "runner"

# The declared layer order, top first. A module belongs to the layer of the longest entry
# that is it or one of its parent packages; `runner` alone (the package root) is core.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "interface",
        (
            "runner.__main__",
            "runner.cli",
            "runner.docs_gen",
            "runner.docs_text",
            "runner.scaffold",
            "runner.ansible_plugins",
        ),
    ),
    (
        "use cases",
        ("runner.run", "runner.report", "runner.plans", "runner.lab", "runner.verify_run"),
    ),
    ("history", ("runner.history",)),
    ("results", ("runner.results",)),
    ("engine", ("runner.engine",)),
    ("lint", ("runner.lint",)),
    ("playbook", ("runner.playbook",)),
    ("steps", ("runner.actions", "runner.faults", "runner.measure", "runner.notify")),
    ("reach", ("runner.connections", "runner.templating")),
    ("inventory", ("runner.inventory",)),
    (
        "core",
        (
            "runner",
            "runner.durations",
            "runner.errors",
            "runner.journal",
            "runner.journal_events",
            "runner.yamlpos",
            "runner.input_files",
            "runner.validation",
            "runner.vault",
            "runner.urls",
            "runner.signing",
            "runner.provenance",
            "runner.secrets",
        ),
    ),
)


@dataclass(frozen=True)
class Import:
    """One import of a runner module by a runner file, with where it is written."""

    source: str
    target: str
    path: Path
    line: int


def _module_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(root: Path = RUNNER) -> tuple[set[str], list[Import]]:
    """Every module under `root` and every import between two of them."""
    files = {_module_of(p, root): p for p in root.rglob("*.py")}
    found: list[Import] = []
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import module` names a module; `from module import name` does not.
                targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in files]
                targets = targets or [base]
            else:
                continue
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name and target.split(".")[0] == root.name:
                    found.append(Import(name, target, path, node.lineno))
    return set(files), found


def _graph(root: Path = RUNNER) -> dict[str, set[str]]:
    modules, imports = _imports(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for imp in imports:
        graph[imp.source].add(imp.target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one file (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _unit_of(module: str) -> str:
    """The package-level unit of `module`: runner itself, or the direct subpackage or
    top-level module of runner that holds it (runner.cli.lab -> runner.cli)."""
    return ".".join(module.split(".")[:2])


def _package_cycles(root: Path = RUNNER) -> list[str]:
    """One entry per circle between units, naming every import that closes it: each import
    from one unit of the circle into another, with its file and line."""
    modules, imports = _imports(root)
    graph: dict[str, set[str]] = {_unit_of(module): set() for module in modules}
    for imp in imports:
        source, target = _unit_of(imp.source), _unit_of(imp.target)
        if source != target:
            graph[source].add(target)
    problems = []
    for units in _cycles(graph):
        closing = sorted(
            (
                imp
                for imp in imports
                if _unit_of(imp.source) in units
                and _unit_of(imp.target) in units
                and _unit_of(imp.source) != _unit_of(imp.target)
            ),
            key=lambda i: (str(i.path), i.line, i.target),
        )
        lines = [
            f"  {imp.path.relative_to(root.parent)}:{imp.line}: {imp.source} imports {imp.target}"
            for imp in closing
        ]
        problems.append("\n".join([f"{', '.join(units)} import each other:", *lines]))
    return problems


def _layer_of(module: str, layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS) -> int | None:
    """Index of the layer `module` belongs to (0 is the top), or None when it has none."""
    best: tuple[int, int] | None = None  # (length of the matching entry, layer index)
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if prefix == "runner" and module != "runner":
                    continue  # the root entry names the package's __init__ only
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def _layer_problems(
    root: Path = RUNNER, layers: tuple[tuple[str, tuple[str, ...]], ...] = LAYERS
) -> list[str]:
    """One line per module without a layer and per import that runs up the order."""
    modules, imports = _imports(root)
    problems = [
        f"{module}: belongs to no declared layer"
        for module in sorted(modules)
        if _layer_of(module, layers) is None
    ]
    for imp in sorted(imports, key=lambda i: (str(i.path), i.line, i.target)):
        source, target = _layer_of(imp.source, layers), _layer_of(imp.target, layers)
        if source is not None and target is not None and target < source:
            where = imp.path.relative_to(root.parent)
            problems.append(
                f"{where}:{imp.line}: {imp.source} ({layers[source][0]}) imports"
                f" {imp.target} ({layers[target][0]}), a layer above it"
            )
    return problems


def test_no_file_of_runner_imports_in_a_circle() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_circle_when_there_is_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_package_of_runner_imports_in_a_circle() -> None:
    problems = _package_cycles()
    assert problems == [], "\n".join(problems)


def test_no_file_of_runner_imports_a_layer_above_its_own() -> None:
    problems = _layer_problems()
    assert problems == [], "\n".join(problems)


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / "runner" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "runner"


def test_an_upward_import_is_named_with_its_file_line_and_both_layers(tmp_path: Path) -> None:
    runner = _write(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "engine/__init__.py": "",
            "engine/drill.py": "import runner.errors\n",
            "connections/__init__.py": "",
            "connections/ssh.py": (
                "from runner import errors\n\n\ndef late():\n    from ..engine import drill\n"
            ),
            "secrets.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from runner.engine.drill import x\n"
            ),
        },
    )
    assert _layer_problems(runner) == [
        "runner/connections/ssh.py:5: runner.connections.ssh (reach) imports"
        " runner.engine.drill (engine), a layer above it",
        "runner/secrets.py:3: runner.secrets (core) imports"
        " runner.engine.drill (engine), a layer above it",
    ]


def test_imports_down_and_within_a_layer_pass(tmp_path: Path) -> None:
    runner = _write(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "cli/__init__.py": "from runner.engine import drill\nfrom runner.cli import run\n",
            "cli/run.py": "import runner\n",
            "engine/__init__.py": "",
            "engine/drill.py": "from ..errors import Bad\nfrom runner.engine.plan import x\n",
            "engine/plan.py": "from runner.faults import ledger\n",
            "faults/ledger.py": "from runner.actions import fault\n",
            "actions/fault.py": "from runner.secrets import x\n",
            "secrets.py": "from . import errors\n",
        },
    )
    assert _layer_problems(runner) == []


def test_a_module_outside_every_layer_is_named(tmp_path: Path) -> None:
    runner = _write(tmp_path, {"__init__.py": "", "cli_extras.py": "", "cli/__init__.py": ""})
    assert _layer_problems(runner) == ["runner.cli_extras: belongs to no declared layer"]


def test_packages_that_import_each_other_are_named_with_every_import_that_closes_it(
    tmp_path: Path,
) -> None:
    # No file imports in a circle here: only the packages (and a top-level module) do.
    runner = _write(
        tmp_path,
        {
            "__init__.py": "",
            "journal.py": "def late():\n    from runner.engine.events import x\n",
            "engine/__init__.py": "",
            "engine/events.py": "",
            "engine/drill.py": "from runner.faults import ledger\n",
            "faults/__init__.py": "",
            "faults/ledger.py": "from runner import journal\n",
            "faults/revert.py": "from ..engine.events import y\n",
            "cli/__init__.py": "from runner.engine import drill\n",
        },
    )
    assert _cycles(_graph(runner)) == []
    assert _package_cycles(runner) == [
        "runner.engine, runner.faults, runner.journal import each other:\n"
        "  runner/engine/drill.py:1: runner.engine.drill imports runner.faults.ledger\n"
        "  runner/faults/ledger.py:1: runner.faults.ledger imports runner.journal\n"
        "  runner/faults/revert.py:1: runner.faults.revert imports runner.engine.events\n"
        "  runner/journal.py:2: runner.journal imports runner.engine.events"
    ]


def test_packages_that_import_one_way_only_pass(tmp_path: Path) -> None:
    runner = _write(
        tmp_path,
        {
            "__init__.py": "import runner.journal\n",
            "journal.py": "",
            "journal_events.py": "from runner.journal import x\n",
            "cli/__init__.py": "from runner.cli import lab\n",
            "cli/lab.py": "from runner.lab import control\nfrom runner.cli import command\n",
            "cli/command.py": "from runner.cli.lab import LAB\n",
            "lab/__init__.py": "from runner.lab.control import start\n",
            "lab/control.py": "from runner.journal_events import y\n",
        },
    )
    assert _package_cycles(runner) == []
