"""The suite's own temporary directories go with the process that made them: every pytest
worker, and every child that imports the test helpers, makes its own."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, python_child

PROBE = """
import tests.conftest as suite
import tests.lab.ansible_oracle as oracle
print(suite.LOCK_DIR)
print(oracle._CONFIG.parent)
"""


def test_the_lock_and_ansible_config_directories_go_when_the_process_ends() -> None:
    out = python_child(PROBE, cwd=REPO)
    made = [Path(line) for line in out.split()]
    assert len(made) == 2
    assert all(p.name.startswith("drillctl-") for p in made)
    assert [p for p in made if p.exists()] == []
