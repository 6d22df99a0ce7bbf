"""A step whose loop has no items did nothing: it is skipped, as Ansible says, never ok."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import events, run_drillctl

pytestmark = pytest.mark.integration


def test_a_step_with_an_empty_loop_is_skipped_and_registers_that_it_was(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: empty loop\nrollback_type: 2\nrollback_when: failure\n"
        "vars: {targets: []}\n"
        "deploy:\n"
        "  - name: touch every target\n"
        f'    command: "touch {tmp_path}/{{{{ item }}}}"\n'
        '    loop: "{{ targets }}"\n'
        "    register: touched\n"
        "  - name: the change ran\n"
        '    command: "true"\n'
        "verify:\n"
        '  - assert: {that: ["touched.skipped", "touched.results == []"]}\n'
    )
    out = tmp_path / "run"
    done = run_drillctl("run", str(playbook), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    [result] = [
        e for e in events(out) if e["event"] == "host_result" and e["step"] == "touch every target"
    ]
    assert result["status"] == "skipped" and result["msg"] == "loop has no items"
