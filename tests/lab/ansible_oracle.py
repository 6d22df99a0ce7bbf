"""ansible-core as the oracle for inventory semantics: what Ansible itself makes of a file.

`listing()` runs the real `ansible-inventory --list`; `host_lists()` asks Ansible's own
InventoryManager, in a child process, what each host pattern selects (what
`ansible PATTERN --list-hosts` prints, without paying its start-up once per pattern).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

# Ansible's own defaults, with nothing from the machine's or user's configuration.
_CONFIG = Path(tempfile.mkdtemp(prefix="drillctl-ansible-cfg-")) / "ansible.cfg"
_CONFIG.write_text("[defaults]\n")
atexit.register(shutil.rmtree, _CONFIG.parent, True)  # gone with the process that made it
_ENV = {
    "ANSIBLE_CONFIG": str(_CONFIG),
    "ANSIBLE_NOCOLOR": "1",
    "ANSIBLE_LOCALHOST_WARNING": "0",
    "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
    "ANSIBLE_HOME": "/nonexistent-drillctl-ansible-home",
    # Ansible orders groups below the first level of children by a set's iteration order:
    # a fixed hash seed makes its answer the same on every run.
    "PYTHONHASHSEED": "0",
}

_PATTERNS = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
answers = []
for sources, patterns in json.loads(sys.stdin.read()):
    inventory = InventoryManager(loader=DataLoader(), sources=sources)
    out = {}
    for pattern in patterns:
        try:
            out[pattern] = [h.name for h in inventory.list_hosts(pattern)]
        except Exception as exc:
            out[pattern] = {"error": str(exc)}
    answers.append(out)
print(json.dumps(answers))
"""


def require_ansible() -> str:
    """The `ansible-inventory` command; under CI=true its absence is a failure, not a skip."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("ansible-inventory", path=search)
    if found is None:
        message = "ansible-core is missing (pip install -e '.[test]' brings it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _env() -> dict[str, str]:
    return {**os.environ, **_ENV}


def listing(sources: Sequence[Path]) -> dict[str, Any]:
    """`ansible-inventory -i SRC... --list`, parsed."""
    argv = [require_ansible()]
    for source in sources:
        argv += ["-i", str(source)]
    done = subprocess.run(
        [*argv, "--list"], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def host_lists(
    cases: Sequence[tuple[Sequence[Path], Sequence[str]]],
) -> list[dict[str, Any]]:
    """For each (sources, patterns): what each pattern selects, as Ansible's InventoryManager
    lists it (in its order), or {"error": message}. One child process for every case."""
    require_ansible()
    payload = [[[str(s) for s in sources], list(patterns)] for sources, patterns in cases]
    done = subprocess.run(
        [sys.executable, "-c", _PATTERNS],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))
