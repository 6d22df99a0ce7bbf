"""One subcommand of the command line, and the one way a parser is built from it.

Every `drillctl` subcommand, nested ones (`history list`, `lab start`) included, is a
`Command`: its name, its line in the parent's `--help`, its help texts, a function that adds
its arguments, and either the handler that runs it or its own subcommands. `attach` is the
only place that creates a subcommand's parser and sets its handler, so each command parses,
reports usage errors and exits the same way.

Modules that declare commands import only argparse and the standard library at the top: a
command's `arguments` function and its handler import what they need when they run, so
`drillctl --version` and `--help` load no library (the start-up is measured).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runner.errors import ExitCode

Handler = Callable[[argparse.Namespace], int]
if TYPE_CHECKING:  # argparse gives the type no public name, and no [] at run time
    Subparsers = argparse._SubParsersAction["CommandLineParser"]


class CommandLineParser(argparse.ArgumentParser):
    """argparse, but usage errors name the command line position like every other input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"<command line>:1:1: {message}\n")
        raise SystemExit(ExitCode.BAD_INPUT)


@dataclass(frozen=True)
class Command:
    """A subcommand: a leaf with a `handler`, or a group of `subcommands`, never both."""

    name: str
    summary: str  # its line in the parent's --help
    description: str | None = None
    epilog: str | None = None
    formatter_class: type[argparse.HelpFormatter] = argparse.HelpFormatter
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    handler: Handler | None = None
    subcommands: tuple[Command, ...] = ()
    title: str | None = None  # heading of a group's subcommand list in its --help
    metavar: str = "ACTION"  # how a group's --help names its subcommand

    def __post_init__(self) -> None:
        if (self.handler is None) == (not self.subcommands):
            raise ValueError(f"command {self.name!r}: give a handler or subcommands, not both")


def attach(subparsers: Subparsers, command: Command, *, full: bool = True) -> None:
    """Add `command` to `subparsers`: its whole parser, or (`full=False`) only its name and
    summary, enough for the parent's --help without importing what its arguments need."""
    if not full:
        subparsers.add_parser(command.name, help=command.summary, add_help=False)
        return
    parser = subparsers.add_parser(
        command.name,
        help=command.summary,
        description=command.description,
        epilog=command.epilog,
        formatter_class=command.formatter_class,
    )
    _fill(parser, command)


def add_commands(
    parser: argparse.ArgumentParser,
    commands: Iterable[Command],
    *,
    dest: str,
    metavar: str,
    title: str | None = None,
    full: Callable[[Command], bool] = lambda _: True,
) -> None:
    """Give `parser` a required subcommand, one of `commands`."""
    if title:  # a title puts the list under its own heading; without, under positionals
        sub = parser.add_subparsers(
            title=title, dest=dest, metavar=metavar, parser_class=CommandLineParser
        )
    else:
        sub = parser.add_subparsers(dest=dest, metavar=metavar, parser_class=CommandLineParser)
    sub.required = True
    for command in commands:
        attach(sub, command, full=full(command))


def _fill(parser: argparse.ArgumentParser, command: Command) -> None:
    if command.arguments is not None:
        command.arguments(parser)
    if command.subcommands:
        add_commands(
            parser,
            command.subcommands,
            dest=f"{command.name}_command",
            metavar=command.metavar,
            title=command.title,
        )
    else:
        parser.set_defaults(handler=command.handler)


def leaves(
    commands: Iterable[Command], path: tuple[str, ...] = ()
) -> Iterable[tuple[tuple[str, ...], Command]]:
    """Every runnable command with the words that name it, e.g. (("history", "list"), …)."""
    for command in commands:
        here = (*path, command.name)
        if command.subcommands:
            yield from leaves(command.subcommands, here)
        else:
            yield here, command
