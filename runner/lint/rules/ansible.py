"""`ansible` steps name an Ansible playbook that exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from runner.actions.ansible_playbook import playbook_exists
from runner.errors import Diagnostic
from runner.lint.rules.base import ERROR, LintContext, Rule, mapping

ANSIBLE_PLAYBOOK_MISSING = "ansible-playbook-missing"


def ansible_playbook_missing(ctx: LintContext) -> Iterator[Diagnostic]:
    """An `ansible` step's playbook is not there. The path is relative to the working
    directory, as for `ansible-playbook`; a templated path is checked when the drill is
    planned, before anything runs.

        deploy:
          - ansible: {playbook: ansible/deploy.yml}   # no such file here
    """
    for step in ctx.steps:
        if step.action != "ansible":
            continue
        args = step.args
        playbook = args if isinstance(args, str) else mapping(args).get("playbook")
        at = (
            (*step.path, "ansible")
            if isinstance(args, str)
            else (*step.path, "ansible", "playbook")
        )
        if not isinstance(playbook, str) or "{{" in playbook or "{%" in playbook:
            continue
        if not playbook_exists(playbook):
            yield ctx.diag(
                at, f"Ansible playbook {playbook!r} not found (relative to {Path.cwd()})"
            )


RULES = (
    Rule(
        ANSIBLE_PLAYBOOK_MISSING,
        ERROR,
        "A drill whose deploy or rollback playbook is missing cannot run.",
        ansible_playbook_missing,
    ),
)
