"""Rules about variables: every name a template reads is defined; every playbook var is read."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from runner.errors import Diagnostic
from runner.lint.rules.base import ERROR, WARNING, LintContext, Rule, mapping
from runner.playbook.loader import strings_in
from runner.templating.templar import TemplateError
from runner.templating.variables import MAGIC_NAMES

UNDEFINED = "undefined-variable"
UNUSED = "unused-variable"


def undefined_variable(ctx: LintContext) -> Iterator[Diagnostic]:
    """A template reads a variable that nothing defines.

    Defined are: playbook `vars`, `secrets`, registered results, inventory variables (with
    `-i`), names given with `-e`, and what drillctl provides (`inventory_hostname`, `host`,
    `groups`, `hostvars`, `run_dir`, `drill`, …); `item` inside a `loop` step, `result` in
    `until`, `seq` in probes. A name guarded by `| default(…)` or `is defined` is fine.
    Templating is strict: an undefined variable is an error at run time, never an empty string.

        verify:
          - command: "curl {{ helth_url }}"   # 'helth_url' is not defined (did you mean …?)
    """
    data = ctx.data
    known = set(MAGIC_NAMES) | set(ctx.templar.env.globals) | set(mapping(data.get("vars")))
    known |= ctx.extra_vars
    secrets = data.get("secrets")
    known |= {s for s in secrets if isinstance(s, str)} if isinstance(secrets, list) else set()
    if ctx.inventory is not None:
        for host in ctx.inventory.hosts.values():
            known |= set(host.vars)
    known |= {s.raw["register"] for s in ctx.steps if isinstance(s.raw.get("register"), str)}
    hint = (
        "" if ctx.inventory is not None else "; if the inventory defines it, lint with -i INVENTORY"
    )
    steps = {s.path: s.raw for s in ctx.steps}
    for path, text, expression in ctx.template_strings():
        names = known
        if path[0] == "probes":
            names = known | {"seq"}
        elif path[:2] in steps:
            raw = steps[path[:2]]
            names = known | ({"item"} if "loop" in raw else set())
            names |= {"result"} if "until" in raw else set()
        try:
            used = ctx.templar.variables_required(text, expression=expression)
        except TemplateError:
            continue  # the loader reports syntax errors
        for name in sorted(used - names):
            close = difflib.get_close_matches(name, sorted(names), n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else hint
            yield ctx.diag(path, f"{name!r} is not defined{suggestion}")


def unused_variable(ctx: LintContext) -> Iterator[Diagnostic]:
    """A playbook variable under `vars` that no template reads.

    Usually a leftover or a misspelling; a value nobody reads is also a value a reviewer
    checks for nothing. Variables read by other variables, or (with `-i`) by templated
    inventory variables, count as read.

        vars: {good: "1", bda: "2"}   # 'bda' is defined but never used
    """
    defined = mapping(ctx.data.get("vars"))
    if not defined:
        return
    texts = [(text, expression) for _, text, expression in ctx.template_strings()]
    if ctx.inventory is not None:  # inventory variables may be templates that read them
        for host in ctx.inventory.hosts.values():
            texts += [(text, False) for _, text in strings_in(dict(host.vars), ())]
    used: set[str] = set()
    for text, expression in texts:
        try:
            used |= ctx.templar.variables_used(text, expression=expression)
        except TemplateError:
            continue
    for name in defined:
        if name not in used:
            yield ctx.diag(
                ("vars", name),
                f"variable {name!r} is defined but never used; use it or remove it",
                at_key=True,
            )


RULES = (
    Rule(
        UNDEFINED,
        ERROR,
        "A missing variable fails the drill at run time; find it before the drill runs.",
        undefined_variable,
        on_broken=True,
    ),
    Rule(
        UNUSED,
        WARNING,
        "A variable nobody reads is a leftover or a typo of one that is read.",
        unused_variable,
    ),
)
