"""`drillctl lint`: check playbooks against the schema and the lint rules."""

from __future__ import annotations

import argparse
import sys

from runner.cli import habits
from runner.cli.command import Command


def lint_playbooks(args: argparse.Namespace) -> int:
    """Print every finding; exit 0 clean, 2 on an error, 1 on a warning with --strict."""
    from runner.inventory import load_inventory
    from runner.lint.batch import lint_files
    from runner.lint.output import exit_code, render

    files = habits.inventories(args)
    inventory = load_inventory(list(files)) if files else None
    extra = list(habits.extra_vars(args.extra_vars))
    findings = lint_files(args.playbooks, inventory=inventory, extra_vars=extra)
    output = render(findings, args.format)
    if output:
        print(output)
    if args.format == "text":
        checked = len(args.playbooks)
        print(
            f"{checked} file{'s' if checked != 1 else ''} checked, {len(findings)} finding"
            f"{'s' if len(findings) != 1 else ''}",
            file=sys.stderr,
        )
    return exit_code(findings, strict=args.strict)


def _arguments(lint: argparse.ArgumentParser) -> None:
    lint.add_argument("playbooks", nargs="+", help="playbook files")
    habits.add_inventory_option(
        lint, "also check variables and patterns against this inventory", required=False
    )
    lint.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="variables that will be given with -e at run time",
    )
    lint.add_argument(
        "--format",
        choices=["text", "json", "github", "sarif"],
        default="text",
        help="text (default), json, github (workflow commands that annotate a pull request) "
        "or sarif (SARIF 2.1.0, for code scanning)",
    )
    lint.add_argument("--strict", action="store_true", help="exit 1 on warnings (no errors)")
    habits.add_vault_options(lint)


LINT = Command(
    "lint",
    "check playbooks; file:line:col findings",
    description="Validate playbooks against the schema and the lint rules. "
    "Exit 0 when clean, 2 when any error is found; warnings exit 0, or 1 with --strict.",
    arguments=_arguments,
    handler=lint_playbooks,
)
