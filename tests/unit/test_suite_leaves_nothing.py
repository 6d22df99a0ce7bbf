"""The suite's own temporary directories go with the process that made them: every pytest
worker, and every child that imports the test helpers, makes its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, child_env

PROBE = """
import tests.conftest as suite
import tests.lab.ansible_oracle as oracle
print(suite.LOCK_DIR)
print(oracle._CONFIG.parent)
"""


def test_the_lock_and_ansible_config_directories_go_when_the_process_ends() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    made = [Path(line) for line in proc.stdout.split()]
    assert len(made) == 2
    assert all(p.name.startswith("drillctl-") for p in made)
    assert [p for p in made if p.exists()] == []
