"""Acceptance: kill -9 the runner anywhere in a drill; `drillctl recover` leaves no fault behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_drillctl
from tests.integration.faults.crash import journal_lines, kill_points, run_and_kill_at

pytestmark = pytest.mark.integration

POINTS = 30


def torture_playbook(directory: Path) -> str:
    faults = "".join(
        f"  - name: fault {i}\n"
        f"    fault: {{kind: custom, name: m{i}, inject: 'touch {directory}/m{i}', "
        f"revert: 'rm -f {directory}/m{i}', check: 'test -f {directory}/m{i}'}}\n"
        f"  - shell: 'sleep 0.05'\n"
        for i in range(4)
    )
    return (
        "drill: torture\nrollback_type: 2\n"
        f"prepare:\n  - shell: 'sleep 0.05'\ninject:\n{faults}"
        "rollback:\n  - shell: 'sleep 0.05'\n"
        "verify:\n  - shell: 'sleep 0.05'\n"
        "cleanup:\n  - shell: 'sleep 0.05'\n"
    )


def markers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("m*"))


def test_kill_9_at_30_points_then_recover_leaves_no_fault(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(torture_playbook(tmp_path))
    full = tmp_path / "full"
    assert run_drillctl("run", str(playbook), "--out", str(full)).returncode == 0
    total = journal_lines(full)
    assert not markers(tmp_path)
    points = kill_points(total, POINTS)
    assert len(points) >= POINTS * 0.8, f"journal too short to spread {POINTS} kill points"
    left_before_recover = 0
    for n, point in enumerate(points):
        run_dir = tmp_path / f"kill-{n}"
        run_and_kill_at([str(playbook)], run_dir, point)
        left_before_recover += bool(markers(tmp_path))
        first = run_drillctl("recover", str(run_dir))
        assert first.returncode == 0, first.stdout + first.stderr
        assert not markers(tmp_path), f"kill at journal line {point}: faults left after recover"
        size = (run_dir / "journal.jsonl").stat().st_size
        again = run_drillctl("recover", str(run_dir))
        assert again.returncode == 0 and "no fault left" in again.stdout
        assert (run_dir / "journal.jsonl").stat().st_size == size, "a second recover wrote"
        assert run_drillctl("verify", str(run_dir)).returncode == 0, "recover broke the chain"
    # The kills must really have caught faults in effect, or the test proves nothing.
    assert left_before_recover >= 5
