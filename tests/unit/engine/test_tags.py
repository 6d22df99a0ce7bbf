"""`--tags` and `--skip-tags`, in process.

The rule: tags choose which change steps (deploy, inject) run; once a change step ran, the
rollback, verify and cleanup run whole, whatever the tags say, because a change must never be
left without its rollback. A tag that no step carries is bad input (exit 2), and a run that
executed no change step proved nothing, so it cannot pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.errors import InputError
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import InProcessRun, run_drill

PLAYBOOK = """\
drill: tags
rollback_type: 2
prepare:
  - {name: baseline, shell: ok baseline}
deploy:
  - {name: fast change, shell: ok fast-change, tags: [fast]}
  - {name: slow change, shell: ok slow-change, tags: slow}
  - {name: always change, shell: ok always-change, tags: [always]}
inject:
  - {name: chaos, shell: ok chaos, tags: [chaos]}
rollback:
  - {name: undo, shell: ok undo, tags: [undo]}
verify:
  - {name: check, shell: ok check, tags: [check]}
cleanup:
  - {name: tidy, shell: ok tidy, tags: [tidy]}
"""


def tagged(tmp_path: Path, **request: Any) -> tuple[InProcessRun, set[str]]:
    target = FakeTarget()
    run = run_drill(PLAYBOOK, tmp_path, target, **request)
    return run, {name for _, _, name in target.snapshot()}


def test_tags_choose_the_change_steps_and_always_tagged_steps_run_too(tmp_path: Path) -> None:
    _, ran = tagged(tmp_path, tags=("fast",))
    assert {"fast-change", "always-change"} <= ran
    assert not {"slow-change", "chaos"} & ran


def test_skip_tags_leave_out_the_change_steps_they_name(tmp_path: Path) -> None:
    _, ran = tagged(tmp_path, skip_tags=("slow", "chaos"))
    assert {"fast-change", "always-change"} <= ran
    assert not {"slow-change", "chaos"} & ran


def test_an_always_tagged_step_runs_unless_always_itself_is_skipped(tmp_path: Path) -> None:
    # As Ansible: `always` runs whatever --tags say, and only --skip-tags always skips it.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, ran = tagged(tmp_path / "a", skip_tags=("slow",))
    assert "always-change" in ran
    _, ran = tagged(tmp_path / "b", tags=("fast",), skip_tags=("always",))
    assert "always-change" not in ran and "fast-change" in ran


def test_after_a_change_step_rollback_verify_and_cleanup_run_whatever_tags_select(
    tmp_path: Path,
) -> None:
    run, ran = tagged(tmp_path, tags=("fast",))
    assert {"undo", "check", "tidy"} <= ran
    assert run.outcome.rolled_back


def test_after_a_change_step_skip_tags_cannot_leave_out_the_rollback(tmp_path: Path) -> None:
    run, ran = tagged(tmp_path, skip_tags=("undo", "check", "tidy"))
    assert {"undo", "check", "tidy"} <= ran
    assert run.outcome.rolled_back


@pytest.mark.parametrize("option", ["tags", "skip_tags"])
def test_a_tag_no_step_carries_is_bad_input_and_nothing_runs(tmp_path: Path, option: str) -> None:
    target = FakeTarget()
    with pytest.raises(InputError) as caught:
        run_drill(PLAYBOOK, tmp_path, target, **{option: ("fsat",)})
    assert "fsat" in str(caught.value)
    assert target.snapshot() == []


def test_a_run_that_executed_no_change_step_does_not_pass(tmp_path: Path) -> None:
    run, ran = tagged(tmp_path, tags=("check",), skip_tags=("always",))
    assert not {"fast-change", "slow-change", "always-change", "chaos"} & ran
    assert run.outcome.status != "passed"
    assert run.exit_code != 0
