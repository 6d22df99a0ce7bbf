"""Start-up: each command imports only what it uses (heavy libraries cost tens of ms each).

Runs the real entry point (`runner.cli:main`, what the `drillctl` script calls) in a fresh
interpreter and lists the modules it loaded by the time it returned.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import child_env

pytestmark = pytest.mark.integration

PROBE = """
import json, sys
from runner.cli import main
out = sys.argv.pop(1)
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # argparse's --version exits
    code = exc.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""

# Loaded by a command that needs them: a drill with an SSH host, a Docker host, a signing key,
# an HTTP step, a colour terminal, the quarterly statistics.
HEAVY = ("paramiko", "docker", "cryptography", "urllib.request", "rich", "scipy", "numpy")


def loaded(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    out = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        cwd=tmp_path,
        env=child_env(DRILLCTL_HISTORY="off"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists(), proc.stdout + proc.stderr
    found = json.loads(out.read_text())
    return int(found["code"]), set(found["modules"])


def top_level(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules]


@pytest.fixture
def local_drill(tmp_path: Path) -> tuple[Path, Path]:
    playbook = tmp_path / "local.yml"
    playbook.write_text(
        "drill: start-up\nrollback_type: 2\nhosts: all\n"
        "deploy:\n  - name: say\n    command: \"echo '{{ greeting }}'\"\n"
        'rollback:\n  - name: undo\n    command: "true"\n'
        'verify:\n  - name: check\n    command: "true"\n'
        "vars:\n  greeting: hello\n"
    )
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    box: {connection: local}\n")
    return playbook, inventory


def test_version_loads_no_library_at_all(tmp_path: Path) -> None:
    code, modules = loaded(tmp_path, "--version")
    assert code == 0
    assert top_level(modules, (*HEAVY, "jinja2", "jsonschema", "yaml", "runner.engine")) == []


def test_lint_loads_what_checking_needs_and_nothing_to_run(
    tmp_path: Path, local_drill: tuple[Path, Path]
) -> None:
    playbook, inventory = local_drill
    code, modules = loaded(tmp_path, "lint", "-i", str(inventory), str(playbook))
    assert code == 0
    assert {"jinja2", "jsonschema", "yaml"} <= modules  # it did check the playbook
    assert top_level(modules, HEAVY) == []


def test_a_local_run_loads_no_remote_or_signing_library(
    tmp_path: Path, local_drill: tuple[Path, Path]
) -> None:
    playbook, inventory = local_drill
    out = tmp_path / "run"
    code, modules = loaded(tmp_path, "run", str(playbook), "-i", str(inventory), "--out", str(out))
    assert code == 0, (out / "journal.jsonl").read_text() if out.exists() else "no run"
    assert json.loads((out / "result.json").read_text())["status"] == "passed"
    assert "runner.engine.drill" in modules  # it did run the drill
    assert top_level(modules, HEAVY) == []
