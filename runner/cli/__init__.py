"""The command line: `drillctl` and its subcommands, one module per command or group.

Each module declares its commands as `runner.cli.command.Command` values; the program's
parser (`runner.cli.drillctl`) walks the one list of them, COMMANDS.
"""

from runner.cli.drillctl import main

__all__ = ["main"]
