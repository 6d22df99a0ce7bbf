"""The host patterns of a playbook resolve in the inventory it will run against."""

from __future__ import annotations

from collections.abc import Iterator

from runner.errors import Diagnostic
from runner.inventory.patterns import PatternError, select_hosts
from runner.lint.rules.base import ERROR, LintContext, PathKey, Rule, is_templated, mapping

UNRESOLVED = "unresolved-pattern"


def unresolved_pattern(ctx: LintContext) -> Iterator[Diagnostic]:
    """A host pattern (the playbook's `hosts`, a step's or a probe's) names a host or group
    the inventory does not have, is malformed, or selects no host.

    Checked only when linting with `-i INVENTORY`; templated patterns are checked at run
    time. A typo in a pattern must not silently target nobody.

        hosts: gatway     # no host or group named 'gatway' (did you mean 'gateway'?)
    """
    inventory = ctx.inventory
    if inventory is None:
        return
    for path, pattern in _patterns(ctx):
        if is_templated(pattern):
            continue
        try:
            hosts = select_hosts(inventory, pattern)
        except PatternError as exc:
            yield ctx.diag(path, str(exc))
            continue
        if not hosts:
            yield ctx.diag(path, f"host pattern {pattern!r} matches no host in {inventory.path}")


def _patterns(ctx: LintContext) -> Iterator[tuple[PathKey, str]]:
    hosts = ctx.data.get("hosts")
    if isinstance(hosts, str):
        yield ("hosts",), hosts
    for step in ctx.steps:
        if isinstance(step.raw.get("hosts"), str):
            yield (*step.path, "hosts"), step.raw["hosts"]
    for name, probe in mapping(ctx.data.get("probes")).items():
        if isinstance(probe, dict) and isinstance(probe.get("hosts"), str):
            yield ("probes", name, "hosts"), probe["hosts"]


RULES = (
    Rule(
        UNRESOLVED,
        ERROR,
        "A host pattern that names nothing in the inventory targets no host, or the wrong one.",
        unresolved_pattern,
    ),
)
