"""Jinja2 loads when a drill first meets a template, and a drill without one runs without it:
the same drill, the same results, on a local host, in a fresh interpreter each time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import child_env

PROBE = """
import json, sys
from runner.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "jinja2": "jinja2" in sys.modules}))
"""


def _run(tmp_path: Path, step: str) -> dict[str, object]:
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    box:\n      connection: local\n")
    (tmp_path / "drill.yml").write_text(
        "drill: on demand\nrollback_type: 1\nrollback_when: failure\n"
        f"deploy:\n  - {step}\nverify:\n  - command: 'true'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "run", "drill.yml", "-i", "inv.yml", "--out", "run"],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    found: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize(
    ("step", "loads", "wrote"),
    [
        ("shell: 'echo plain > out.txt'", False, "plain\n"),
        ("shell: 'echo {{ inventory_hostname }} > out.txt'", True, "box\n"),
        # An expression is a template too.
        ("shell: 'echo when > out.txt'\n    when: inventory_hostname == 'box'", True, "when\n"),
    ],
)
def test_a_drill_loads_jinja2_only_for_a_template(
    tmp_path: Path, step: str, loads: bool, wrote: str
) -> None:
    assert _run(tmp_path, step) == {"code": 0, "jinja2": loads}
    assert (tmp_path / "out.txt").read_text() == wrote
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "passed"
