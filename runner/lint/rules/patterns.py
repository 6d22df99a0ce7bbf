"""The host patterns of a playbook resolve in the inventory it will run against."""

from __future__ import annotations

from collections.abc import Iterator

from runner.errors import Diagnostic
from runner.inventory.patterns import PatternError, select_hosts
from runner.lint.rules.base import (
    ERROR,
    WARNING,
    LintContext,
    PathKey,
    Rule,
    is_templated,
    mapping,
)

UNRESOLVED = "unresolved-pattern"
MISSPELT = "misspelt-host-variable"


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


def misspelt_host_variable(ctx: LintContext) -> Iterator[Diagnostic]:
    """A host the playbook targets has a variable one keystroke from a name drillctl reads to
    reach or guard it (`address`, `port`, `user`, `connection`, their Ansible names, or
    `environment`), and that name is not set: as written it is an ordinary variable, and the
    host is reached (or left unguarded) without it.

    Reported at the variable, in the inventory; checked only when linting with `-i`.

        web1:
          conection: local   # an ordinary variable: web1 is reached over ssh
    """
    inventory = ctx.inventory
    if inventory is None:
        return
    targeted = {}
    for _, pattern in _patterns(ctx):
        if is_templated(pattern):
            continue
        try:
            targeted.update({h.name: h for h in select_hosts(inventory, pattern)})
        except PatternError:
            continue  # unresolved-pattern reports it
    yield from inventory.warnings_of(targeted.values())


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
    Rule(
        MISSPELT,
        WARNING,
        "A misspelt connection variable leaves the host reached another way than meant.",
        misspelt_host_variable,
    ),
)
