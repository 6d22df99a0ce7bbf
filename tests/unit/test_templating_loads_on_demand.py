"""Jinja2 loads when a drill first meets a template, and a drill without one runs without it:
the same drill, the same results, on a local host, in a fresh interpreter each time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import python_child

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
    out = python_child(PROBE, "run", "drill.yml", "-i", "inv.yml", "--out", "run", cwd=tmp_path)
    found: dict[str, object] = json.loads(out.strip().splitlines()[-1])
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
