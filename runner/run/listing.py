"""`run --list-hosts|--list-tasks|--list-tags|--syntax-check`: what ansible-playbook prints
for them, from the resolved plan, and nothing run.

All four go through the whole preflight first (schema, inventory, patterns, templates), so
bad input is exit 2 here as for a run; they never connect to a target.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

from runner.playbook.model import PHASES

if TYPE_CHECKING:
    from runner.run.prepare import Prepared

MODES = ("list_hosts", "list_tasks", "list_tags", "syntax_check")


def listing_mode(args: argparse.Namespace) -> str:
    """Which of the four was asked for, or ''."""
    return next((mode for mode in MODES if getattr(args, mode, False)), "")


def print_listing(mode: str, prepared: Prepared, out: TextIO) -> None:
    plan = prepared.plan
    lines = [f"playbook: {prepared.playbook.path}"]
    if mode == "syntax_check":
        lines.append("syntax OK: schema, inventory, host patterns and templates check out")
    elif mode == "list_hosts":
        hosts = [h.name for h in plan.touched_hosts()]
        lines.append(f"  drill: {prepared.playbook.drill}")
        lines.append(f"    hosts ({len(hosts)}):")
        lines.extend(f"      {name}" for name in hosts)
    elif mode == "list_tasks":
        lines.append(f"  drill: {prepared.playbook.drill}")
        for phase in PHASES:
            steps = plan.steps.get(phase, ())
            lines.append(f"    {phase}:" + ("" if steps else " (no steps)"))
            for sp in steps:
                tags = ", ".join(sp.step.tags)
                lines.append(f"      {sp.step.name}\tTAGS: [{tags}]")
        if plan.skipped_steps:
            lines.append("    skipped by --start-at-task:")
            lines.extend(f"      {label}" for label in plan.skipped_steps)
    else:
        every = sorted({t for steps in plan.steps.values() for sp in steps for t in sp.step.tags})
        lines.append(f"  drill: {prepared.playbook.drill}\tTAGS: []")
        lines.append(f"      TASK TAGS: [{', '.join(every)}]")
    out.write(prepared.mask.mask("\n".join(lines)) + "\n")
