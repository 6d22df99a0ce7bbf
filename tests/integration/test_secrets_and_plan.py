"""Acceptance: secrets never leave the program; `plan` shows everything and runs nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_drillctl

pytestmark = pytest.mark.integration

SECRET = "hunter2-Zq9"

SECRET_PLAYBOOK = """\
drill: secret handling
rollback_type: 2
secrets: [db_password]
vars:
  dsn: "postgres://app:{{ db_password }}@db/orders"
deploy:
  - name: connect with {{ db_password }}
    shell: "echo connecting with {{ db_password }}; echo {{ dsn }} >&2; exit 1"
rollback:
  - name: rollback
    shell: "echo {{ db_password }}"
    register: out
  - assert: {that: "out.stdout | length > 0", success_msg: "got {{ out.stdout }}"}
verify:
  - shell: "echo verify {{ db_password }}"
"""


def test_secret_from_extra_vars_never_reaches_output_journal_result_or_reports(
    write_playbook: Any, tmp_path: Path
) -> None:
    playbook = write_playbook(SECRET_PLAYBOOK)
    out = tmp_path / "run"
    proc = run_drillctl(
        "run", str(playbook), "-v", "-e", f"db_password={SECRET}", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "connecting with ********" in proc.stdout  # the output is there, masked
    assert SECRET not in proc.stdout + proc.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"journal.jsonl", "result.json"}
    for path in files:
        assert SECRET not in path.read_text(errors="replace"), f"secret leaked into {path}"
    plan = run_drillctl("plan", str(playbook), "-e", f"db_password={SECRET}")
    assert plan.returncode == 0
    assert SECRET not in plan.stdout and "********" in plan.stdout


def test_plan_prints_rendered_commands_per_host_and_runs_nothing(
    write_playbook: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "touched"
    inventory = tmp_path / "inv.yml"
    inventory.write_text(
        "all:\n  children:\n    web:\n      hosts:\n"
        "        w1: {connection: local, port_no: 8001}\n"
        "        w2: {connection: local, port_no: 8002}\n"
    )
    playbook = write_playbook(f"""\
        drill: plan only
        rollback_type: 2
        hosts: web
        deploy:
          - name: restart
            shell: "touch {marker}-{{{{ inventory_hostname }}}} --port {{{{ port_no }}}}"
        """)
    runs = tmp_path / "runs"
    proc = run_drillctl("plan", str(playbook), "-i", str(inventory), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"w1: touch {marker}-w1 --port 8001" in proc.stdout
    assert f"w2: touch {marker}-w2 --port 8002" in proc.stdout
    assert not list(tmp_path.glob("touched*"))
    assert not runs.exists() and not (tmp_path / "drills").exists()
    check = run_drillctl("run", "--check", str(playbook), "-i", str(inventory), cwd=tmp_path)
    assert check.returncode == 0 and f"w2: touch {marker}-w2" in check.stdout
    assert not list(tmp_path.glob("touched*"))


def test_bad_template_is_rejected_before_anything_runs(write_playbook: Any, tmp_path: Path) -> None:
    playbook = write_playbook(f"""\
        drill: bad input
        rollback_type: 2
        prepare:
          - shell: "touch {tmp_path}/prepared"
        deploy:
          - shell: "echo {{{{ missing_var }}}}"
        """)
    proc = run_drillctl("run", str(playbook), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert f"{playbook}:6:" in proc.stderr and "missing_var" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "prepared").exists()
    assert not (tmp_path / "run").exists()
