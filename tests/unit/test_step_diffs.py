"""`--diff` previews: a file that is missing, binary or too large gives a reason or a
creation diff, never a made-up empty one."""

from __future__ import annotations

from pathlib import Path

from runner.actions import ACTIONS
from runner.actions.diffs import preview_diff
from runner.connections.base import CancelToken
from runner.connections.local import LocalConnection
from runner.inventory import implicit_localhost
from runner.templating.templar import Templar


def preview(action: str, args: dict[str, object]) -> str | None:
    host = implicit_localhost().hosts["localhost"]
    planned = ACTIONS[action].plan(args, host)
    return preview_diff(planned, LocalConnection(), Templar(), {}, CancelToken(), 5.0)


def test_a_new_file_diffs_from_dev_null(tmp_path: Path) -> None:
    text = preview("config", {"dest": str(tmp_path / "new.conf"), "content": "a=1\n"})
    assert text is not None
    assert "--- before: /dev/null" in text and "+a=1" in text


def test_an_unchanged_file_has_an_empty_diff(tmp_path: Path) -> None:
    (tmp_path / "same.conf").write_text("a=1\n")
    assert preview("config", {"dest": str(tmp_path / "same.conf"), "content": "a=1\n"}) == ""


def test_a_binary_file_gives_its_reason_instead_of_a_diff(tmp_path: Path) -> None:
    (tmp_path / "blob").write_bytes(b"\xff\xfe\x00binary")
    text = preview("config", {"dest": str(tmp_path / "blob"), "content": "a=1\n"})
    assert text == f"(no diff: {tmp_path / 'blob'} is not UTF-8 text)\n"


def test_removing_a_file_diffs_to_dev_null(tmp_path: Path) -> None:
    (tmp_path / "old.conf").write_text("a=1\n")
    text = preview("config", {"dest": str(tmp_path / "old.conf"), "state": "absent"})
    assert text is not None and "+++ after: /dev/null" in text and "-a=1" in text


def test_actions_without_files_have_no_diff() -> None:
    assert preview("shell", {"cmd": "true"}) is None


def test_an_env_flag_file_diff_shows_the_one_line_it_changes(tmp_path: Path) -> None:
    (tmp_path / "f.env").write_text("A=1\nNEW=off\n")
    text = preview("flag.file", {"file": str(tmp_path / "f.env"), "name": "NEW", "value": "on"})
    assert text is not None and "-NEW=off" in text and "+NEW=on" in text and "-A=1" not in text
