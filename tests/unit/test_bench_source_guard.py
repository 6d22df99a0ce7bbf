"""The benches publish figures of one version of runner/ only (bench/harness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import harness  # bench/ holds scripts, not a package


def tree(root: Path) -> Path:
    (root / "engine").mkdir(parents=True)
    (root / "engine" / "variables.py").write_text("HOSTVARS = 'view'\n")
    (root / "scaffolds").mkdir()
    (root / "scaffolds" / "config.yml").write_text("drill: x\n")
    return root


def test_the_digest_follows_sources_and_data_but_not_bytecode_caches(tmp_path: Path) -> None:
    root = tree(tmp_path / "runner")
    first = harness.source_digest(root)
    (root / "engine" / "__pycache__").mkdir()
    (root / "engine" / "__pycache__" / "variables.cpython-311.pyc").write_bytes(b"\x00compiled")
    assert harness.source_digest(root) == first  # the bench compiles runner/ itself
    (root / "scaffolds" / "config.yml").write_text("drill: y\n")
    assert harness.source_digest(root) != first
    (root / "scaffolds" / "config.yml").write_text("drill: x\n")
    assert harness.source_digest(root) == first
    (root / "engine" / "variables.py").rename(root / "engine" / "vars.py")
    assert harness.source_digest(root) != first  # same bytes under another name


def test_the_guard_stops_the_bench_once_runner_changed(tmp_path: Path) -> None:
    root = tree(tmp_path / "runner")
    guard = harness.SourceGuard(root)
    guard.check()  # unchanged: the bench goes on
    (root / "engine" / "variables.py").write_text("HOSTVARS = 'copies'\n")
    with pytest.raises(SystemExit, match="changed while the bench ran"):
        guard.check()


def test_interleave_runs_nothing_more_after_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path / "runner")
    guard = harness.SourceGuard
    monkeypatch.setattr(harness, "SourceGuard", lambda: guard(root))
    ran: list[str] = []

    def run(key: str, edit: bool) -> harness.Contender:
        def once(rep: int) -> harness.Run:
            ran.append(key)
            if edit and len(ran) == 3:  # someone edits the tree during the third run
                (root / "engine" / "variables.py").write_text("HOSTVARS = 'copies'\n")
            return harness.Run(0.01)

        return harness.Contender(key, key, once)

    with pytest.raises(SystemExit, match="changed while the bench ran"):
        harness.interleave([run("a", True), run("b", True)], repeat=5, seed=1)
    assert len(ran) == 3
    ran.clear()
    (root / "engine" / "variables.py").write_text("HOSTVARS = 'view'\n")
    harness.interleave([run("a", False), run("b", False)], repeat=5, seed=1)
    assert sorted(ran) == ["a"] * 5 + ["b"] * 5
