"""Every fault has a way back."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from runner.errors import Diagnostic
from runner.faults.registry import FAULTS
from runner.lint.rules.base import ERROR, LintContext, Rule, is_templated

FAULT_WITHOUT_REVERT = "fault-without-revert"

# Fault kinds whose revert is a command the author writes: the argument holding it. Every
# other kind plans its own revert (a test checks each named argument is in the kind's schema).
REVERT_ARGS: Mapping[str, str] = {
    "process.kill": "restart",  # a kill cannot be undone: revert starts the process again
    "service.stop": "start",  # with stop/start/status commands (a systemd `name` starts itself)
    "custom": "revert",
}
# Commands that succeed and do nothing.
_NO_OP = re.compile(r"^\s*(true|:|/bin/true|/usr/bin/true|exit(\s+0)?|echo\b[^;&|<>`$]*)\s*;?\s*$")


def fault_without_revert(ctx: LintContext) -> Iterator[Diagnostic]:
    """A fault whose revert would do nothing, so the fault outlives the drill.

    Most fault kinds plan their own revert. Three take it from the author: `process.kill`
    (`restart`: a killed process does not come back by itself), `service.stop` with your own
    commands (`start`), and `custom` (`revert`). Their schemas require the argument; this
    rule catches one that is empty or a no-op (`true`, `:`, `exit 0`, a lone `echo`), with
    or without a `duration` (the revert is what runs when the duration is up).

        inject:
          - fault: {kind: custom, inject: "iptables -I INPUT -j DROP", revert: "true"}
    """
    for step in ctx.steps:
        args = step.args
        if step.action != "fault" or not isinstance(args, dict):
            continue
        kind = args.get("kind")
        if not isinstance(kind, str) or kind not in FAULTS or kind not in REVERT_ARGS:
            continue  # an unknown kind is a schema error; a templated one is checked at run time
        key = REVERT_ARGS[kind]
        path = (*step.path, "fault")
        if key not in args:
            if key in FAULTS[kind].schema.get("required", ()):
                yield ctx.diag(path, f"{kind} needs `{key}`: without it nothing reverts the fault")
            continue
        value = args[key]
        if is_templated(value):
            continue
        if not isinstance(value, str) or not value.strip() or _NO_OP.match(value):
            yield ctx.diag(
                (*path, key),
                f"`{key}` of this {kind} fault does nothing, so the fault outlives the drill; "
                "give a command that undoes it",
            )


RULES = (
    Rule(
        FAULT_WITHOUT_REVERT,
        ERROR,
        "No fault may outlive the drill: its revert must undo it.",
        fault_without_revert,
    ),
)
