"""The controller's environment variables a playbook reads are declared at its top."""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import nodes

from runner.errors import Diagnostic
from runner.lint.rules.base import ERROR, LintContext, Rule
from runner.templating.templar import TemplateError

UNDECLARED_ENV = "undeclared-env"


def undeclared_env(ctx: LintContext) -> Iterator[Diagnostic]:
    """A template reads an environment variable the playbook does not declare under `env:`.

    `env('NAME')` reads the controller's environment, where credentials live (cloud keys,
    tokens of the CI job). Declaring the names a drill reads at its top says, in review,
    what it takes from the machine it runs on; a name that is not declared is refused, and
    so is a name that is not written out (`env(name)`), which no declaration can cover.
    Values read with `env()` are masked in every output unless the call says
    `secret=false`.

        env: [DB_PASSWORD, REGION]
        vars:
          region: "{{ env('REGION', secret=false) }}"
          password: "{{ env('DB_PASSWORD') }}"
    """
    declared_raw = ctx.data.get("env")
    declared = (
        {n for n in declared_raw if isinstance(n, str)} if isinstance(declared_raw, list) else set()
    )
    for path, text, expression in ctx.template_strings():
        try:
            tree = ctx.templar.parse(text, expression=expression)
        except TemplateError:
            continue  # the loader reports syntax errors
        for call in tree.find_all(nodes.Call):
            if not isinstance(call.node, nodes.Name):
                continue
            if call.node.name == "env":
                name = call.args[0] if call.args else None
            elif (
                call.node.name == "lookup"
                and call.args
                and isinstance(call.args[0], nodes.Const)
                and call.args[0].value == "env"
            ):
                name = call.args[1] if len(call.args) > 1 else None
            else:
                continue
            if not (isinstance(name, nodes.Const) and isinstance(name.value, str)):
                yield ctx.diag(
                    path,
                    "env() needs the variable's name written out (`env('NAME')`) so that it "
                    "can be declared under `env:`",
                )
            elif name.value not in declared:
                yield ctx.diag(
                    path,
                    f"environment variable {name.value!r} is read but not declared; "
                    f"add it to the playbook's `env:` list",
                )


RULES = (
    Rule(
        UNDECLARED_ENV,
        ERROR,
        "What a drill takes from the controller's environment is declared and reviewed.",
        undeclared_env,
    ),
)
