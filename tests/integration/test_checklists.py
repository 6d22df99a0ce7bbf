"""Checklists: items ticked by steps, confirmed by operators (flag or prompt), in the evidence."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env, drillctl_argv, run_drillctl

pytestmark = pytest.mark.integration

PLAYBOOK = """\
drill: checklist
rollback_type: 2
checklists:
  before:
    - {id: notified, text: Stakeholders notified, confirm: true}
    - {id: team, text: Rollback team assembled, confirm: true}
  after:
    - {id: healthy, text: Services verified operational, step: healthy again}
    - {id: metrics, text: Performance metrics normal, step: metrics normal}
    - {id: postmortem, text: Post-mortem scheduled, confirm: true}
deploy:
  - shell: "true"
rollback:
  - shell: "true"
verify:
  - {name: healthy again, shell: "true"}
  - {name: metrics normal, shell: "exit 1", ignore_errors: true}
"""


def states(out: Path) -> dict[str, dict[str, str]]:
    items = json.loads((out / "result.json").read_text())["checklists"]
    return {i["id"]: i for i in items}


def test_items_are_ticked_by_steps_and_confirmed_with_the_flag(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "run"
    proc = run_drillctl(
        "run",
        str(playbook),
        "--confirm",
        "notified",
        "--confirm",
        "postmortem",
        "--operator",
        "carol",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    items = states(out)
    assert items["healthy"]["state"] == "ticked"
    assert items["metrics"]["state"] == "failed"
    assert items["team"]["state"] == "open"
    assert items["notified"]["state"] == "confirmed" and items["notified"]["by"] == "carol"
    assert items["postmortem"]["at"].endswith("Z")
    html = (out / "report.html").read_text()
    assert "Checklists" in html and "Rollback team assembled" in html
    assert "**Checklists:** 3/5 done" in (out / "report.md").read_text()


def test_an_unknown_confirm_id_is_bad_input(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(PLAYBOOK)
    proc = run_drillctl("run", str(playbook), "--confirm", "nope", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert "--confirm nope: no such checklist item" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_on_a_terminal_the_operator_is_asked_at_the_right_moment(tmp_path: Path) -> None:
    if shutil.which("script") is None:
        pytest.skip("util-linux script is needed to give drillctl a terminal")
    playbook = tmp_path / "drill.yml"
    playbook.write_text(PLAYBOOK)
    out = tmp_path / "run"
    command = shlex.join(drillctl_argv("run", str(playbook), "--out", str(out)))
    # Answers in prompt order: notified (yes), team (no), then after verify: postmortem (yes).
    proc = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        input="y\nn\ny\n",
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout
    items = states(out)
    assert items["notified"]["state"] == "confirmed"
    assert items["team"]["state"] == "open"
    assert items["postmortem"]["state"] == "confirmed"
    assert "[after] Post-mortem scheduled — confirm?" in proc.stdout
