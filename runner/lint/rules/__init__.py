"""The lint rules of `drillctl lint`, by id.

`drillctl lint PLAYBOOK… [-i INVENTORY] [-e NAME=VALUE] [--format text|json|github|sarif]
[--strict]` reports the loader's findings (YAML, schema, template syntax) and these rules'.
Rules other than `undefined-variable` run once the file loads and its variables resolve,
so a broken file is not buried under findings that follow from the break. Exit 0 when
clean, 2 with any error; warnings exit 0, or 1 with `--strict`.

Silence a finding with a comment on the line it is reported at: `# noqa: rule-id` (several
ids separated by commas), or a bare `# noqa` for every rule. Schema errors cannot be
silenced.

Each rule has an id, a severity, a one-line rationale and a check whose docstring is its
documentation: `docs/lint-rules.md` is generated from this registry.
"""

from __future__ import annotations

from runner.lint.rules import (
    ansible,
    budget,
    environment,
    faults,
    patterns,
    rollback,
    secrets,
    shell,
    urls,
    variables,
)
from runner.lint.rules.base import ERROR, WARNING, LintContext, Rule

RULES: dict[str, Rule] = {
    rule.id: rule
    for module in (
        variables,
        budget,
        rollback,
        patterns,
        secrets,
        environment,
        urls,
        shell,
        faults,
        ansible,
    )
    for rule in module.RULES
}

__all__ = ["ERROR", "RULES", "WARNING", "LintContext", "Rule"]
