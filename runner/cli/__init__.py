"""The command line: `drillctl` and its subcommands, one module per command or group.

Each module declares its commands as `runner.cli.command.Command` values; the program's
parser (`runner.cli.drillctl`) walks the one list of them, COMMANDS.
"""

from typing import NoReturn

from runner.cli.drillctl import main

__all__ = ["main", "program"]


def program() -> NoReturn:
    """The installed `drillctl` command, as `python -m runner`: run, then leave without the
    interpreter's teardown once everything is flushed (see `runner.cli.process_exit`)."""
    from runner.cli import startup_gc
    from runner.cli.process_exit import exit_now

    startup_gc.loading()
    exit_now(main())
