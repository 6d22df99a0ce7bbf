"""`drillctl new KIND NAME`: start a drill playbook from a template."""

from __future__ import annotations

import argparse

from runner.cli.command import Command
from runner.errors import ExitCode


def new_playbook(args: argparse.Namespace) -> int:
    """Write DIR/NAME.yml from the KIND template and say what to do next."""
    from runner.scaffold import next_steps, write_scaffold

    print(next_steps(args.kind, write_scaffold(args.kind, args.name, args.dir)))
    return ExitCode.PASSED


def _arguments(new: argparse.ArgumentParser) -> None:
    from runner.scaffold import KINDS

    new.add_argument("kind", choices=list(KINDS), help="what the drill rolls back")
    new.add_argument("name", help="the drill's name; the file is DIR/NAME.yml")
    new.add_argument("--dir", default="playbooks", help="directory (default playbooks)")


NEW = Command(
    "new",
    "start a drill playbook from a template",
    description="Write playbooks/NAME.yml: a drill of KIND that lints clean and runs as it "
    "is against the local lab (network: the Docker lab), to change into your own. "
    "Never overwrites a file (exit 2).",
    epilog="example:\n  drillctl new app-code order-gateway\n"
    "  drillctl run playbooks/order-gateway.yml -i inventories/local.yml",
    formatter_class=argparse.RawDescriptionHelpFormatter,
    arguments=_arguments,
    handler=new_playbook,
)
