"""Every drillctl subcommand, nested ones and `lab` included, is a Command in the one list
(runner.cli.drillctl.COMMANDS) and is built into the parser the one way (runner.cli.command)."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.cli.command import Command, leaves
from runner.cli.drillctl import COMMANDS, build_parser, main

RUNNER = Path(__file__).resolve().parents[2] / "runner"
# The one module that may create subcommand parsers and set their handler.
MECHANISM = RUNNER / "cli" / "command.py"


def _subparsers(
    parser: argparse.ArgumentParser,
) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(found) <= 1, f"{parser.prog}: more than one set of subcommands"
    return found[0] if found else None


def parsed_leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree that has no subcommands, with the words that reach it."""
    sub = _subparsers(parser)
    if sub is None:
        yield path, parser
        return
    for name, child in sub.choices.items():
        yield from parsed_leaves(child, (*path, name))


def test_every_parsed_command_runs_the_handler_its_command_declares() -> None:
    declared = dict(leaves(COMMANDS))
    parsed = dict(parsed_leaves(build_parser()))

    assert sorted(parsed) == sorted(declared)
    for words, parser in parsed.items():
        assert parser.get_default("handler") is declared[words].handler, " ".join(words)


def test_the_list_holds_every_command_of_the_issue_and_lab_with_its_subcommands() -> None:
    names = {words for words, _ in leaves(COMMANDS)}

    for expected in [
        ("run",),
        ("plan",),
        ("lint",),
        ("schema",),
        ("keygen",),
        ("verify",),
        ("recover",),
        ("approve",),
        ("postmortem",),
        ("exec",),
        ("halt",),
        ("quarterly",),
        ("metrics",),
        ("history", "list"),
        ("history", "import"),
        ("drill", "run"),
        ("drill", "status"),
        ("lab", "serve"),
        ("lab", "start"),
        ("lab", "stop"),
        ("lab", "status"),
        ("lab", "ssh"),
        ("lab", "docker"),
    ]:
        assert expected in names
    assert len(names) == len(list(leaves(COMMANDS)))  # no two commands share a path


def test_no_module_builds_a_subcommand_or_sets_a_handler_outside_the_one_mechanism() -> None:
    """A handler set with set_defaults, or a parser added with add_parser, anywhere but
    runner/cli/command.py would be a second way to register a command."""
    offenders = []
    for path in sorted(RUNNER.rglob("*.py")):
        if path == MECHANISM:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"set_defaults", "add_parser", "add_subparsers"}
            ):
                offenders.append(f"{path.relative_to(RUNNER.parent)}:{node.lineno}")
    assert offenders == []


def test_only_the_command_given_gets_its_whole_parser() -> None:
    """Start-up: the other commands are listed by name and summary, nothing they need loaded."""
    parsed = dict(parsed_leaves(build_parser(only=["halt"])))

    assert parsed[("halt",)].get_default("handler") is not None
    stubs = [words for words, parser in parsed.items() if words != ("halt",)]
    assert sorted(stubs) == sorted((c.name,) for c in COMMANDS if c.name != "halt")
    assert all(parsed[w].get_default("handler") is None for w in stubs)


def test_the_top_level_help_lists_every_command_with_its_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for command in COMMANDS:
        assert f"{command.name} {command.summary}" in out


def test_a_command_is_a_leaf_or_a_group_never_both_nor_neither() -> None:
    def handler(_: argparse.Namespace) -> int:
        return 0

    leaf = Command("x", "a leaf", handler=handler)
    with pytest.raises(ValueError, match="not both"):
        Command("y", "both", handler=handler, subcommands=(leaf,))
    with pytest.raises(ValueError, match="not both"):
        Command("z", "neither")


def test_lab_runs_through_drillctl_like_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "status", "--state-dir", str(tmp_path)]) == 1
    assert f"no lab service running in {tmp_path}" in capsys.readouterr().out


def test_a_lab_usage_error_exits_2_located_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["lab", "start", "--port", "0"])
    assert caught.value.code == 2
    assert "<command line>:1:1: argument --port: expected a port 1-65535, got '0'" in (
        capsys.readouterr().err
    )
