"""Details a refusal or a failure shows the user: which host failed a step, the arithmetic of
a run refused for lack of open files, and the steps `--start-at-task` can name.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine.resources import DescriptorNeed
from runner.engine.results import FAILED, OK, HostResult, StepResult
from runner.errors import InputError
from runner.playbook.model import Location, Step
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import run_drill

STEP = Step("verify", 0, "health", "shell", "ok", Location("p.yml", 1, 1))


def test_the_first_failed_host_of_a_step_and_none_when_every_host_passed() -> None:
    bad = HostResult("h2", FAILED, "rc 1")
    mixed = StepResult(STEP, (HostResult("h1", OK), bad, HostResult("h3", FAILED)), "", 0, 0)
    assert mixed.first_failure() is bad
    assert StepResult(STEP, (HostResult("h1", OK),), "", 0, 0).first_failure() is None


def test_a_descriptor_need_shows_every_term_of_its_arithmetic() -> None:
    need = DescriptorNeed(ssh_hosts=2, jumps=1, docker_engines=1, in_flight=3)
    assert need.explain() == (
        "64 base + 2 SSH hosts x 1 + 1 jump connections x 1 + 1 Docker engines x 64 "
        "+ 3 commands in flight x 8"
    )
    assert need.total == 64 + 2 + 1 + 64 + 24
    # Terms that are zero are left out; the commands in flight always count.
    assert DescriptorNeed(0, 0, 0, 1).explain() == "64 base + 1 commands in flight x 8"


def test_start_at_task_offers_at_most_three_close_matches(tmp_path: Path) -> None:
    steps = "".join(f"  - {{name: step {c}, shell: ok {c}}}\n" for c in "abcd")
    text = f"drill: d\nrollback_type: 2\ndeploy:\n{steps}"
    with pytest.raises(InputError) as caught:
        run_drill(text, tmp_path, FakeTarget(), start_at_task="step")
    hint = str(caught.value).rsplit("did you mean ", 1)[1]
    assert hint.count("'step ") == 3, hint


def test_start_at_task_says_when_no_step_can_start_a_run(tmp_path: Path) -> None:
    text = "drill: d\nrollback_type: 2\nverify:\n  - {name: check, shell: ok check}\n"
    with pytest.raises(InputError) as caught:
        run_drill(text, tmp_path, FakeTarget(), start_at_task="check")
    assert str(caught.value).endswith("has this name; steps that can start a run: none")
