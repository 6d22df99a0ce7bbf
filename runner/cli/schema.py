"""`drillctl schema playbook|inventory|result`: the JSON Schemas, for editors and CI."""

from __future__ import annotations

import argparse
import json

from runner.cli.command import Command
from runner.errors import ExitCode


def print_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of playbooks, inventories or result.json."""
    if args.kind == "playbook":
        from runner.playbook.schema import playbook_schema

        schema = playbook_schema()
    elif args.kind == "result":
        from runner.results.schema import result_schema

        schema = result_schema()
    else:
        from runner.inventory.schema import INVENTORY_SCHEMA

        schema = INVENTORY_SCHEMA
    print(json.dumps(schema, indent=2))
    return ExitCode.PASSED


def _arguments(schema: argparse.ArgumentParser) -> None:
    schema.add_argument("kind", choices=["playbook", "inventory", "result"])


SCHEMA = Command(
    "schema",
    "print a JSON Schema (for editors and CI)",
    description="Print the JSON Schema (draft 2020-12) of playbooks, inventories or result.json.",
    arguments=_arguments,
    handler=print_schema,
)
