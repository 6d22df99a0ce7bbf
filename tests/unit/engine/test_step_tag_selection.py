"""Which steps `--tags` and `--skip-tags` select, as Ansible does, and what an unknown tag
says: the rules of the selection itself, without running a drill.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine.plan import check_tags, select_steps
from runner.errors import InputError
from runner.playbook.loader import load_playbook
from runner.playbook.model import Playbook

PLAYBOOK = """\
drill: tag selection
rollback_type: 2
deploy:
  - {name: plain, shell: echo plain}
  - {name: debug only, shell: echo debug, tags: [never, debug]}
  - {name: fast, shell: echo fast, tags: [fast]}
rollback:
  - {name: undo, shell: echo undo, tags: [never]}
"""


@pytest.fixture
def playbook(tmp_path: Path) -> Playbook:
    path = tmp_path / "drill.yml"
    path.write_text(PLAYBOOK)
    return load_playbook(path)[0]


def deploy(playbook: Playbook, tags: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> list[str]:
    return [s.name for s in select_steps(playbook, tags, skip)["deploy"]]


def test_a_never_tagged_step_runs_only_when_asked_for(playbook: Playbook) -> None:
    assert deploy(playbook) == ["plain", "fast"]
    assert deploy(playbook, ("fast",)) == ["fast"]
    assert deploy(playbook, ("debug",)) == ["debug only"]
    assert deploy(playbook, ("never",)) == ["debug only"]
    assert deploy(playbook, ("all",)) == ["plain", "fast"]
    assert deploy(playbook, ("debug",), ("debug",)) == []
    # The rollback runs whole whatever the tags say, `never` included.
    assert [s.name for s in select_steps(playbook, ("fast",), ())["rollback"]] == ["undo"]


def test_an_unknown_tag_names_its_option_and_every_known_tag(playbook: Playbook) -> None:
    known = "all, always, debug, fast, never"
    for option, tags, skip in (("--tags", ("nope",), ()), ("--skip-tags", (), ("nope",))):
        with pytest.raises(InputError) as caught:
            check_tags(playbook, tags, skip)
        assert str(caught.value) == (
            f"<command line>:1:1: {option} nope: no step of {playbook.path} has this tag "
            f"(known tags: {known})"
        )
    check_tags(playbook, ("debug", "always"), ("fast", "all"))  # every known tag is fine
