"""A hostile campaign against the rule for bad input: every malformed playbook, inventory or
option is `path:line:col: message` on stderr, exit 2, no traceback, and changes nothing:
no step runs on a target (the drill's deploy step would create a marker file), no run
directory, no history row, and no lock or last-run record left saying a run happened."""

from __future__ import annotations

import contextlib
import io
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.cli import main

LOCATED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$", re.M)


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    def located(self) -> list[tuple[str, int, int, str]]:
        return [
            (m["path"], int(m["line"]), int(m["col"]), m["message"])
            for m in LOCATED.finditer(self.err)
        ]


def cli(*argv: str) -> Outcome:
    """`drillctl ARGV` in this process, its exit code (usage errors included) and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    return Outcome(code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class Bench:
    """A local inventory, a drill whose deploy step creates MARKER, and where a run would
    leave its traces."""

    root: Path
    inventory: Path
    marker: Path
    out: Path
    history: Path
    locks: Path

    def playbook(self, text: str, name: str = "drill.yml") -> Path:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return path

    def drill(self, *, head: str = "", step: str = "", tail: str = "") -> str:
        """A valid drill; `head` adds top-level keys, `step` keys to the marker step, `tail`
        whole top-level sections."""
        step_lines = "".join(f"    {line}\n" for line in step.splitlines())
        return (
            f"drill: smoke\nrollback_type: 2\nhosts: all\n{head}"
            f"deploy:\n  - name: make marker\n    command: touch {self.marker}\n"
            f"    tags: [deploy]\n{step_lines}"
            "rollback:\n  - name: undo\n    command: 'true'\n"
            "verify:\n  - name: check\n    command: 'true'\n"
            f"{tail}"
        )

    def run(self, playbook: Path, *options: str) -> Outcome:
        out = ("--out", str(self.out))
        return cli("run", str(playbook), "-i", str(self.inventory), *out, *options)

    def assert_untouched(self) -> None:
        assert not self.marker.exists(), "a step ran on the target"
        assert not self.out.exists(), "a run directory was left behind"
        if self.history.exists():
            with contextlib.closing(sqlite3.connect(self.history)) as db:
                tables = [r[0] for r in db.execute("select name from sqlite_master")]
                for table in tables:
                    assert not db.execute(f"select count(*) from {table}").fetchone()[0]
        for path in self.locks.rglob("*"):
            assert not path.is_file() or not path.read_bytes().strip(), f"{path} records a run"


@pytest.fixture
def bench(tmp_path: Path, own_lock_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    h1:\n      connection: local\n      address: 127.0.0.1\n",
        encoding="utf-8",
    )
    history = tmp_path / "history.db"
    monkeypatch.setenv("DRILLCTL_HISTORY", str(history))
    monkeypatch.chdir(tmp_path)  # a default run directory would land here
    return Bench(tmp_path, inventory, tmp_path / "MARKER", tmp_path / "run", history, own_lock_dir)


def refused(outcome: Outcome, path: str | Path, line: int, col: int, words: str) -> None:
    """Exit 2, no traceback, and the first located message at path:line:col says `words`."""
    assert "Traceback" not in outcome.err + outcome.out
    assert outcome.code == 2, outcome.err + outcome.out
    found = outcome.located()
    assert found, f"no path:line:col: message in {outcome.err!r}"
    assert (found[0][0], found[0][1], found[0][2]) == (str(path), line, col), found
    assert words in found[0][3], found


CMDLINE = "<command line>"
