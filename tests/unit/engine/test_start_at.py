"""`--start-at-task NAME`, in process.

The rule: the steps of prepare, deploy and inject before the first step called NAME are
skipped and journaled as skipped; the named step and everything after it run; rollback,
verify and cleanup always run whole. A name no startable step has is bad input naming the
close matches, and nothing runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.errors import InputError
from tests.fakes.connection import FakeTarget
from tests.fakes.engine import InProcessRun, run_drill

PLAYBOOK = """\
drill: start-at
rollback_type: 2
prepare:
  - {name: baseline, shell: ok baseline}
deploy:
  - {name: first change, shell: ok first-change, tags: [first]}
  - {name: second change, shell: ok second-change}
inject:
  - {name: chaos, shell: ok chaos}
rollback:
  - {name: undo, shell: ok undo}
verify:
  - {name: check, shell: ok check}
cleanup:
  - {name: tidy, shell: ok tidy}
"""


def started_at(tmp_path: Path, name: str, **request: Any) -> tuple[InProcessRun, list[str]]:
    target = FakeTarget()
    run = run_drill(PLAYBOOK, tmp_path, target, start_at_task=name, **request)
    return run, [n for _, _, n in target.snapshot()]


def skipped_event(run: InProcessRun) -> dict[str, Any] | None:
    found = [e for e in run.events() if e["event"] == "steps_skipped"]
    assert len(found) <= 1
    return found[0] if found else None


def test_the_steps_before_the_named_one_are_skipped_and_journaled(tmp_path: Path) -> None:
    run, ran = started_at(tmp_path, "second change")
    assert ran == ["second-change", "chaos", "undo", "check", "tidy"]
    event = skipped_event(run)
    assert event is not None
    assert event["steps"] == ["prepare[0] baseline", "deploy[0] first change"]
    assert event["reason"] == "--start-at-task second change"
    assert run.exit_code == 0


def test_starting_at_the_first_step_skips_nothing_and_journals_nothing(tmp_path: Path) -> None:
    run, ran = started_at(tmp_path, "baseline")
    assert ran == ["baseline", "first-change", "second-change", "chaos", "undo", "check", "tidy"]
    assert skipped_event(run) is None


def test_starting_at_the_last_startable_step_skips_every_change_before_it(
    tmp_path: Path,
) -> None:
    run, ran = started_at(tmp_path, "chaos")
    assert ran == ["chaos", "undo", "check", "tidy"]
    event = skipped_event(run)
    assert event is not None
    assert event["steps"] == [
        "prepare[0] baseline",
        "deploy[0] first change",
        "deploy[1] second change",
    ]


def test_skipped_steps_that_tags_left_out_anyway_are_not_listed(tmp_path: Path) -> None:
    # --skip-tags first already removed `first change`: only what the run would have run
    # and now does not is journaled as skipped by --start-at-task.
    run, ran = started_at(tmp_path, "second change", skip_tags=("first",))
    assert "first-change" not in ran and "second-change" in ran
    event = skipped_event(run)
    assert event is not None
    assert event["steps"] == ["prepare[0] baseline"]


@pytest.mark.parametrize("name", ["undo", "check", "tidy"])
def test_rollback_verify_and_cleanup_steps_cannot_start_a_run(tmp_path: Path, name: str) -> None:
    target = FakeTarget()
    with pytest.raises(InputError) as caught:
        run_drill(PLAYBOOK, tmp_path, target, start_at_task=name)
    text = str(caught.value)
    assert f"--start-at-task {name!r}" in text
    assert "no step of prepare, deploy or inject" in text
    assert target.snapshot() == []


def test_an_unknown_name_names_the_close_matches(tmp_path: Path) -> None:
    target = FakeTarget()
    with pytest.raises(InputError) as caught:
        run_drill(PLAYBOOK, tmp_path, target, start_at_task="secnod change")
    text = str(caught.value)
    assert text.startswith("<command line>:1:1: ")
    assert text.endswith("has this name; did you mean 'second change', 'first change'?")
    assert target.snapshot() == []


def test_a_name_like_none_of_them_lists_the_steps_that_can_start_a_run(tmp_path: Path) -> None:
    target = FakeTarget()
    with pytest.raises(InputError) as caught:
        run_drill(PLAYBOOK, tmp_path, target, start_at_task="zzz")
    text = str(caught.value)
    assert (
        "steps that can start a run: 'baseline', 'first change', 'second change', 'chaos'" in text
    )
    assert "did you mean" not in text
    assert target.snapshot() == []


def test_a_name_half_like_a_step_still_finds_it(tmp_path: Path) -> None:
    # "chnge" is 0.56 to 0.59 like the two change steps: close enough (cutoff 0.5) to be
    # offered, not so close that difflib's default cutoff (0.6) would find it.
    target = FakeTarget()
    with pytest.raises(InputError) as caught:
        run_drill(PLAYBOOK, tmp_path, target, start_at_task="chnge")
    assert str(caught.value).endswith("did you mean 'first change', 'second change'?")
