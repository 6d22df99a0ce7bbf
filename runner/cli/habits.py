"""The flags Ansible hands type by habit: several `-i`, `-e`, `--limit @FILE`, `--list-*`,
`--syntax-check`, `-f`, `-u`, `--private-key`, `-b`/`--become-user`, `--start-at-task`,
`--diff`, `--vault-password-file`. Registered and read here, for every command that takes them."""

from __future__ import annotations

import argparse

from runner.errors import InputError
from runner.input_files import read_input_text


def add_inventory_option(p: argparse.ArgumentParser, help_text: str, *, required: bool) -> None:
    """`-i` given once or several times: the sources merged in order, as Ansible merges them."""
    p.add_argument(
        "-i",
        "--inventory",
        action="append",
        default=[],
        required=required,
        metavar="INV",
        help=f"{help_text}; repeat to merge several, later ones winning",
    )


def add_limit_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-l",
        "--limit",
        metavar="PATTERN|@FILE",
        help="further limit hosts with a pattern (e.g. 'gateway:!gw2'), or @FILE: "
        "one pattern per line, as Ansible's .retry files",
    )


def add_connection_options(p: argparse.ArgumentParser, *, forks_default: int | None) -> None:
    """`-f`, `-u`, `--private-key`, `-b`, `--become-user`: defaults a host's vars override."""
    p.add_argument(
        "-f",
        "--forks",
        type=int,
        default=forks_default,
        help="hosts at once"
        + (f" (default {forks_default})" if forks_default else " (default: the playbook's forks)"),
    )
    p.add_argument("-u", "--user", metavar="USER", help="remote user for SSH hosts that set none")
    p.add_argument(
        "--private-key",
        "--key-file",
        dest="private_key",
        metavar="FILE",
        help="SSH private key for hosts that set none",
    )
    p.add_argument(
        "-b",
        "--become",
        action="store_true",
        help="run commands with sudo on SSH hosts that do not set become themselves",
    )
    p.add_argument(
        "--become-user",
        metavar="USER",
        help="the user sudo runs commands as (default root); for hosts that set none",
    )


RUN_EXAMPLES = """\
examples:
  drillctl run playbooks/quickstart.yml -i inventories/local.yml
  drillctl run drill.yml -i base.yml -i overrides.ini --limit @drill.retry
  drillctl run drill.yml -i hosts.ini -u deploy --private-key ~/.ssh/deploy -b -f 20
  drillctl run drill.yml -i hosts.ini -e '{"ports": [80, 443]}' -e @vars.yml
  drillctl run drill.yml -i hosts.ini --start-at-task "ship the release" --diff
  drillctl run drill.yml -i hosts.ini --list-hosts   (--list-tasks, --list-tags, --syntax-check)
"""

PLAN_EXAMPLES = """\
examples:
  drillctl plan playbooks/quickstart.yml -i inventories/local.yml -e bad_version=3
  drillctl plan drill.yml -i hosts.ini --diff      (reads the targets, changes nothing)
"""


class ExamplesFormatter(argparse.HelpFormatter):
    """Wraps the description as usual and prints the examples as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_run_habits(p: argparse.ArgumentParser, *, is_run: bool) -> None:
    """The options `run` and `plan` share with ansible-playbook (their --help examples are
    RUN_EXAMPLES and PLAN_EXAMPLES, printed as written by ExamplesFormatter)."""
    add_connection_options(p, forks_default=None)
    p.add_argument(
        "--start-at-task",
        metavar="NAME",
        help="start at the step named NAME in prepare, deploy or inject; earlier steps of "
        "those phases are skipped (rollback, verify and cleanup always run)",
    )
    p.add_argument(
        "--diff",
        action="store_true",
        help="show what config, flag.file and release steps change in files, as a unified "
        "diff (secrets masked); with plan or --check, the diff they would make",
    )
    if not is_run:
        return
    listing = p.add_mutually_exclusive_group()
    listing.add_argument(
        "--list-hosts", action="store_true", help="list the hosts the drill targets and exit"
    )
    listing.add_argument(
        "--list-tasks", action="store_true", help="list the steps that would run and exit"
    )
    listing.add_argument("--list-tags", action="store_true", help="list every tag and exit")
    listing.add_argument(
        "--syntax-check",
        action="store_true",
        help="check the playbook (schema, inventory, templates, patterns) and exit",
    )


def inventories(args: argparse.Namespace) -> tuple[str, ...]:
    """The `-i` sources in the order given (empty: the playbook's, or localhost)."""
    given = getattr(args, "inventory", None) or []
    return tuple([given] if isinstance(given, str) else given)


def read_limit(value: str | None) -> str | None:
    """`--limit` as a pattern; `@FILE` reads one pattern per line (blank lines and `#`
    comments ignored), joined as a union, as ansible-playbook reads a .retry file."""
    if value is None:
        return None
    if not value.strip() or value.strip() == "@":
        # An empty --limit (`--limit "$HOSTS"` with HOSTS unset) limits nothing: taken as no
        # limit, the drill would run on every host of the inventory.
        raise InputError.at(
            "<command line>",
            1,
            1,
            f"--limit {value!r}: empty host pattern; name a host, a group, 'all', or @FILE",
        )
    if not value.startswith("@"):
        return value
    path = value[1:]
    text = read_input_text(path, what="--limit @FILE: ")
    patterns = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    if not patterns:
        raise InputError.at(
            path, 1, 1, "--limit @FILE: the file names no host (one pattern per line)"
        )
    return ",".join(patterns)


def extra_vars(items: list[str]) -> dict[str, object]:
    """`-e` values, or bad input located on the command line."""
    from runner.templating.variables import parse_extra_vars

    try:
        return parse_extra_vars(items)
    except ValueError as exc:
        raise InputError.at("<command line>", 1, 1, str(exc)) from None


def add_vault_options(p: argparse.ArgumentParser) -> None:
    """`--vault-password-file` / `--ask-vault-pass`, as Ansible spells them."""
    p.add_argument(
        "--vault-password-file",
        "--vault-pass-file",
        metavar="FILE",
        help="open Ansible Vault values with the password in FILE (or that FILE prints, "
        "if executable)",
    )
    p.add_argument("-J", "--ask-vault-pass", action="store_true", help="ask for the vault password")


def unlock_vault(args: argparse.Namespace) -> None:
    """Open the vault when the command line gave its password (or asked for it)."""
    if getattr(args, "vault_password_file", None) or getattr(args, "ask_vault_pass", False):
        from runner.vault import unlock_from_options

        unlock_from_options(args.vault_password_file, args.ask_vault_pass)


def check_forks(forks: int | None) -> None:
    if forks is not None and forks < 1:
        raise InputError.at("<command line>", 1, 1, f"--forks must be at least 1, got {forks}")
