"""The environment a run on several inventory sources is guarded as.

Merged as Ansible merges them, a later source's `environment` replaces an earlier one's:
`-i prod.yml -i staging-overrides.yml` would read as staging. The production guard must not
be talked out of that way, so each source is also read on its own (with its folder's
`group_vars/all`), and when any of them says production the run is guarded as production.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from runner.errors import Diagnostic
from runner.inventory.model import Inventory

PRODUCTION = ("production", "prod")


def is_production(environment: str | None) -> bool:
    return (environment or "").lower() in PRODUCTION


def source_environment(path: str) -> str | None:
    """The `environment` group `all` gives in this one source (with its group_vars)."""
    from runner.inventory.loader import _environment, _read_source
    from runner.inventory.precedence import Precedence
    from runner.inventory.source import ALL
    from runner.inventory.vars_files import load_vars_files

    source = _read_source(path)
    files = load_vars_files(Path(path).parent, source.groups, source.hosts)
    problems: list[Diagnostic] = []
    return _environment(Precedence(source, files).group_vars(ALL), problems)


def strictest_environment(inventory: Inventory, files: Sequence[str]) -> Inventory:
    """`inventory`, guarded as production when any one of its several sources says so."""
    if len(files) < 2 or is_production(inventory.environment):
        return inventory
    for path in files:
        environment = source_environment(path)
        if is_production(environment):
            return replace(inventory, environment=environment)
    return inventory
