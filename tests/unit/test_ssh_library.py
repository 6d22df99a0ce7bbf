"""paramiko loads without invoke, yet an ssh_config `Match exec` line still runs its command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import python_child

PROBE = """
import json, sys
from runner.connections import ssh, ssh_settings
loaded = "invoke" in sys.modules
settings = ssh_settings._ssh_config_for("box.example")
print(json.dumps({"invoke_at_import": loaded, "user": settings.get("user")}))
"""


def _probe(home: Path) -> dict[str, object]:
    found: dict[str, object] = json.loads(python_child(PROBE, HOME=str(home)))
    return found


def _home_with_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(text)
    return tmp_path


def test_importing_the_ssh_connection_leaves_invoke_unloaded(tmp_path: Path) -> None:
    found = _probe(tmp_path)  # no ~/.ssh/config: nothing needs invoke
    assert found == {"invoke_at_import": False, "user": None}


def test_match_exec_runs_its_command_and_applies_when_it_succeeds(tmp_path: Path) -> None:
    home = _home_with_config(tmp_path, 'Match exec "true"\n  User from-exec\n')
    assert _probe(home) == {"invoke_at_import": False, "user": "from-exec"}


def test_match_exec_does_not_apply_when_its_command_fails(tmp_path: Path) -> None:
    home = _home_with_config(
        tmp_path, 'Match exec "false"\n  User from-exec\nHost *\n  User fallback\n'
    )
    assert _probe(home) == {"invoke_at_import": False, "user": "fallback"}
