"""The `drillctl` program: its subcommands, argument parsing and exit codes, nothing else.

Every subcommand is a `Command` in COMMANDS, built into the parser by `runner.cli.command`;
what a command does lives in its own module of runner/cli/.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Sequence

from runner import __version__
from runner.cli import habits
from runner.cli.adhoc import EXEC
from runner.cli.approve import APPROVE
from runner.cli.command import Command, CommandLineParser, add_commands
from runner.cli.halt import HALT
from runner.cli.history import HISTORY
from runner.cli.inventory import INVENTORY
from runner.cli.lab import LAB
from runner.cli.lint import LINT
from runner.cli.new import NEW
from runner.cli.plans import DRILL
from runner.cli.postmortem import POSTMORTEM
from runner.cli.recover import RECOVER
from runner.cli.reports import METRICS, QUARTERLY
from runner.cli.run import PLAN, RUN
from runner.cli.schema import SCHEMA
from runner.cli.verify import KEYGEN, VERIFY
from runner.errors import Diagnostic, ExitCode, InputError, TargetEnvironmentError

# Every subcommand of drillctl, in the order `drillctl --help` lists them.
COMMANDS: tuple[Command, ...] = (
    RUN,
    PLAN,
    LINT,
    NEW,
    SCHEMA,
    INVENTORY,
    EXEC,
    VERIFY,
    KEYGEN,
    APPROVE,
    POSTMORTEM,
    RECOVER,
    HALT,
    HISTORY,
    DRILL,
    QUARTERLY,
    METRICS,
    LAB,
)

EPILOG = """\
exit codes: 0 drill passed · 1 drill ran and failed · 2 bad input or usage ·
            3 environment error (unreachable target, no engine) · 130 interrupted

examples:
  drillctl run playbooks/quickstart.yml -i inventories/local.yml
  drillctl plan playbooks/quickstart.yml -i inventories/local.yml -e bad_version=3
  drillctl lint playbooks/*.yml -i inventories/local.yml
  drillctl verify drills/runs/20261121T101500Z-quickstart
  drillctl halt --all

ansible habits:
  drillctl run drill.yml -i base.yml -i overrides.ini --limit @drill.retry
  drillctl run drill.yml -i hosts.ini -u deploy --private-key ~/.ssh/deploy -b -f 20
  drillctl run drill.yml -i hosts.ini -e '{"ports": [80, 443]}' -e @vars.yml
  drillctl run drill.yml -i hosts.ini --start-at-task "ship the release" --diff
  drillctl run drill.yml -i hosts.ini --list-hosts   (or --list-tasks, --list-tags, --syntax-check)
  drillctl plan drill.yml -i hosts.ini --diff
"""


def build_parser(only: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. With `only`, just those commands get their whole parser; the
    others are listed in --help by name and summary, without loading what they need."""
    parser = CommandLineParser(
        prog="drillctl",
        description="Run rollback and chaos drills that measure recovery time and data loss.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"drillctl {__version__}")
    add_commands(
        parser,
        COMMANDS,
        dest="command",
        metavar="COMMAND",
        full=lambda command: only is None or command.name in only,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`drillctl …`: run one command; its exit code (see EPILOG)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    remote: list[str] = []
    if args_list[:1] == ["exec"] and "--" in args_list:
        # Everything after `--` is the remote command, options included.
        cut = args_list.index("--")
        args_list, remote = args_list[:cut], args_list[cut + 1 :]
    args = build_parser(only=args_list[:1]).parse_args(args_list)
    if remote:
        args.command_words = remote
    return _execute(args)


def _execute(args: argparse.Namespace) -> int:
    """Run the parsed command's handler; what it raises becomes its exit code."""
    try:
        habits.unlock_vault(args)
        return int(args.handler(args))
    except InputError as exc:
        _print_diagnostics(exc.diagnostics)
        return ExitCode.BAD_INPUT
    except TargetEnvironmentError as exc:
        print(f"drillctl: {exc}", file=sys.stderr)
        return ExitCode.ENVIRONMENT
    except KeyboardInterrupt:
        print("drillctl: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.PASSED


def _print_diagnostics(diags: Sequence[Diagnostic]) -> None:
    for d in diags:
        print(d, file=sys.stderr)
    errors = sum(1 for d in diags if d.severity == "error")
    if errors > 1:
        print(f"{errors} errors", file=sys.stderr)
