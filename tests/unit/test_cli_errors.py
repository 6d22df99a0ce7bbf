"""Bad input on the command line: exit 2, a located message, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import main


@pytest.fixture
def playbook(tmp_path: Path) -> Path:
    path = tmp_path / "drill.yml"
    path.write_text(
        "drill: smoke\nrollback_type: 1\nverify:\n  - command: echo ok\n", encoding="utf-8"
    )
    return path


def no_traceback(captured: pytest.CaptureResult[str]) -> None:
    assert "Traceback" not in captured.err
    assert "Traceback" not in captured.out


@pytest.mark.parametrize("command", ["lint", "plan"])
def test_an_extra_var_without_equals_sign_exits_2_naming_the_command_line(
    command: str, playbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, str(playbook), "-e", "novalue"]) == 2
    captured = capsys.readouterr()
    assert (
        "<command line>:1:1: -e '…': expected NAME=VALUE, a JSON mapping or @FILE" in captured.err
    )
    no_traceback(captured)


def test_an_extra_var_that_is_not_a_name_exits_2(
    playbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", str(playbook), "-e", "bad-name=1"]) == 2
    captured = capsys.readouterr()
    assert "'bad-name' is not a variable name" in captured.err
    no_traceback(captured)


@pytest.mark.parametrize(
    "argv",
    [
        ["bogus"],
        [],
        ["lint", "--bogus", "x.yml"],
        ["lint"],
        ["schema", "nope"],
        ["--no-such-option"],
        ["verify"],
    ],
)
def test_usage_errors_exit_2_with_a_command_line_position(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert "<command line>:1:1: " in captured.err
    assert "usage: drillctl" in captured.err
    no_traceback(captured)


def test_lint_of_a_missing_file_exits_2_with_path_1_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.yml"
    assert main(["lint", str(missing)]) == 2
    captured = capsys.readouterr()
    assert f"{missing}:1:1: file not found" in captured.out + captured.err
    assert "1 file checked, 1 finding" in captured.err
    no_traceback(captured)


def test_lint_of_a_missing_file_in_json_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.yml"
    assert main(["lint", "--format", "json", str(missing)]) == 2
    captured = capsys.readouterr()
    (finding,) = json.loads(captured.out)
    assert (finding["path"], finding["line"], finding["col"], finding["message"]) == (
        str(missing),
        1,
        1,
        "file not found",
    )
    no_traceback(captured)


def test_lint_of_a_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert f"{tmp_path}:1:1: cannot read file" in captured.out
    no_traceback(captured)


def test_lint_of_a_clean_playbook_exits_0(
    playbook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", str(playbook)]) == 0
    captured = capsys.readouterr()
    assert "1 file checked, 0 findings" in captured.err


def test_lint_of_several_files_reports_each(
    playbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.yml"
    assert main(["lint", str(playbook), str(missing)]) == 2
    captured = capsys.readouterr()
    assert "2 files checked, 1 finding" in captured.err


def test_plan_of_a_missing_playbook_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.yml"
    assert main(["plan", str(missing)]) == 2
    captured = capsys.readouterr()
    assert f"{missing}:1:1: file not found" in captured.err
    no_traceback(captured)


def test_plan_of_an_invalid_playbook_exits_2_listing_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("drill: x\nrollback_type: 9\nverify:\n  - comand: echo\n", encoding="utf-8")
    assert main(["plan", str(path)]) == 2
    captured = capsys.readouterr()
    assert f"{path}:2:16: rollback_type: 9 is greater than the maximum of 5" in captured.err
    assert f"{path}:4:5: unknown action or step keyword 'comand'" in captured.err
    assert "2 errors" in captured.err
    no_traceback(captured)


def test_plan_with_an_undefined_variable_in_when_exits_2_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.yml"
    path.write_text(
        "drill: x\nrollback_type: 1\nhosts: localhost\nverify:\n"
        "  - command: echo hi\n    when: typo_var\n",
        encoding="utf-8",
    )
    assert main(["plan", str(path)]) == 2
    no_traceback(capsys.readouterr())


def test_verify_of_a_missing_run_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-run"
    assert main(["verify", str(missing)]) == 2
    captured = capsys.readouterr()
    assert f"{missing}:1:1: no journal here" in captured.err
    no_traceback(captured)


def test_verify_of_a_torn_journal_exits_1_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "journal.jsonl").write_bytes(b'{"seq":0,')
    assert main(["verify", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert ":1:1: truncated last line" in captured.out
    no_traceback(captured)
