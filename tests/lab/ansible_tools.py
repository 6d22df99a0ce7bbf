"""ansible-core's programs for tests: found beside Python or on PATH, never silently missing."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def ansible_tool(name: str) -> str:
    """The path of an ansible-core program (`ansible-vault`, `ansible-playbook`).

    ansible-core is a test dependency: under CI=true a missing one fails, elsewhere it skips.
    """
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (pip install ansible-core)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
