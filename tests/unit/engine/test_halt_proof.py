"""`drillctl halt` signals only a process whose command line is a drill run."""

from __future__ import annotations

import pytest

from runner.engine.halt import _is_drillctl_run


@pytest.mark.parametrize(
    "argv",
    [
        ["/usr/bin/python3", "-m", "runner", "run", "drill.yml"],
        ["/usr/local/bin/drillctl", "run", "drill.yml", "-i", "inv.yml"],
        ["/usr/bin/python3", "/usr/local/bin/drillctl", "run", "drill.yml"],
    ],
)
def test_a_drill_run_command_line_is_recognised(argv: list[str]) -> None:
    assert _is_drillctl_run(argv)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["sleep", "60"],
        ["/usr/bin/python3", "-m", "runner", "halt", "--all"],
        ["/usr/local/bin/drillctl", "recover", "run"],
        ["/usr/bin/python3", "-c", "drillctl run"],
        ["/usr/bin/python3", "-m", "runner", "lab", "run"],
        ["/usr/bin/python3", "-m", "pytest", "drillctl", "run"],
    ],
)
def test_anything_else_is_not(argv: list[str]) -> None:
    assert not _is_drillctl_run(argv)
