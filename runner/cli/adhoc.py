"""`drillctl exec PATTERN -i INV -- COMMAND`: one command across a fleet (ad hoc)."""

from __future__ import annotations

import argparse

from runner.cli import habits
from runner.cli.command import Command
from runner.errors import InputError


def run_adhoc(args: argparse.Namespace) -> int:
    """Exit 0 all ok, 1 a command failed, 3 a host was unreachable."""
    from runner.engine.adhoc import ExecRequest, exec_guarded
    from runner.engine.safety import Permissions
    from runner.inventory.defaults import ConnectionDefaults

    # The words after `--`, options included, set by the entry point before parsing.
    words = getattr(args, "command_words", None) or args.words
    if not words:
        raise InputError.at("<command line>", 1, 1, "give the command after --")
    habits.check_forks(args.forks)
    request = ExecRequest(
        inventories=habits.inventories(args),
        pattern=args.pattern,
        command=" ".join(words),
        limit=habits.read_limit(args.limit),
        forks=args.forks,
        timeout=args.timeout,
        operator=args.operator,
        permissions=Permissions(allow_production=args.allow_production, change_id=args.change_id),
        defaults=ConnectionDefaults(args.user, args.private_key, args.become, args.become_user),
    )
    return exec_guarded(request)


def _timeout(text: str) -> float:
    """argparse type: a duration above zero. `float` let through nan and inf (no deadline at
    all) and 0 or a negative number, and the command ran on every host anyway."""
    from runner.durations import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is no time at all; give more than 0s")
    return value


def _arguments(adhoc: argparse.ArgumentParser) -> None:
    adhoc.add_argument("pattern", help="host pattern, e.g. 'gateway:!gw2'")
    habits.add_inventory_option(adhoc, "inventory file (YAML or Ansible INI)", required=True)
    habits.add_limit_option(adhoc)
    habits.add_connection_options(adhoc, forks_default=10)
    adhoc.add_argument(
        "--timeout",
        type=_timeout,
        default=None,
        help="seconds (or a duration such as 90s) per host; killed after",
    )
    adhoc.add_argument(
        "--allow-production",
        action="store_true",
        help="allow production hosts (environment: production; needs --change-id too)",
    )
    adhoc.add_argument("--change-id", default="", help="change ticket this command is part of")
    adhoc.add_argument("--operator", default="", help="who runs it (default: login name)")
    adhoc.add_argument("words", nargs="*", metavar="COMMAND", help="the command, after --")
    habits.add_vault_options(adhoc)


EXEC = Command(
    "exec",
    "run one command on every matching host (ad hoc)",
    description="Run one shell command across the hosts matching PATTERN, with the same "
    "connections, fan-out and host-key rules as a drill, and its guards: production hosts "
    "need --allow-production and --change-id (exit 2), and it holds the inventory's lock "
    "(exit 3 while a drill runs on it). Prints each host's result as it "
    "finishes. Exit 0 all ok, 1 a command failed, 3 a host was unreachable.",
    epilog="example:\n  drillctl exec gateway -i inventories/ssh-lab.yml -- uptime",
    formatter_class=argparse.RawDescriptionHelpFormatter,
    arguments=_arguments,
    handler=run_adhoc,
)
