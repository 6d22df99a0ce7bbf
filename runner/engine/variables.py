"""Variables per host: inventory group < host < playbook vars < registered < extra vars.

Playbook and inventory values may be templates that name other variables; they are
resolved once per host in dependency order, so authors need not order them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from runner.inventory.model import Host, Inventory
from runner.playbook.model import Playbook
from runner.playbook.templating import Templar, TemplateError
from runner.vault import reveal


class VariableError(Exception):
    """A variable could not be resolved; `name` says which, for locating the error."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_dir: str
    operator: str
    change_id: str
    environment: str


class Deferred:
    """Stands in for a value known only at run time (a registered result) in `plan`."""

    def __init__(self, label: str) -> None:
        self._label = label

    def __getattr__(self, name: str) -> Deferred:
        # The sandbox asks these to decide whether a value may be called: answer honestly.
        if name.startswith("_") or name in ("unsafe_callable", "alters_data"):
            raise AttributeError(name)
        return Deferred(f"{self._label}.{name}")

    def __call__(self, *args: object, **kwargs: object) -> Deferred:
        return Deferred(f"{self._label}()")

    def __getitem__(self, key: object) -> Deferred:
        return Deferred(f"{self._label}[{key!r}]")

    def __str__(self) -> str:
        return f"<{self._label}>"

    def __iter__(self) -> Any:
        return iter(())


class FreshCopies(Mapping[str, Any]):
    """Every host's variables (or every group's members), each made when a template asks.

    Each host's templates may read every host's variables. A copy of all of them per host
    is O(hosts²): at 1,000 hosts, a million dicts and hundreds of MB before the first step.
    This view shares the inventory's own mapping and copies only the entry asked for, so a
    template that changes what it got (the sandbox allows `update`) changes its own copy.
    """

    def __init__(self, source: Mapping[str, Any], make: Callable[[str], Any]) -> None:
        self._source = source
        self._make = make

    def __getitem__(self, name: str) -> Any:
        if name not in self._source:
            raise KeyError(name)
        return self._make(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


def magic_vars(
    host: Host, inventory: Inventory, playbook: Playbook, run: RunInfo
) -> dict[str, Any]:
    """Names every template can use, whatever the playbook defines."""
    return {
        "inventory_hostname": host.name,
        "host": {
            "name": host.name,
            "address": host.address,
            "port": host.port,
            "user": host.user,
            "connection": host.connection,
            "groups": list(host.groups),
        },
        "hostvars": FreshCopies(inventory.hosts, lambda name: dict(inventory.hosts[name].vars)),
        "groups": FreshCopies(inventory.groups, inventory.group_members),
        "drill": {
            "name": playbook.drill,
            "component": playbook.component,
            "rollback_type": playbook.rollback_type,
            **run.__dict__,
        },
        "run_dir": run.run_dir,
        "run_id": run.run_id,
        "drillctl_python": sys.executable,
    }


MAGIC_NAMES = frozenset(
    {
        "inventory_hostname",
        "host",
        "hostvars",
        "groups",
        "drill",
        "run_dir",
        "run_id",
        "drillctl_python",
    }
)


def resolve_host_vars(
    templar: Templar,
    host: Host,
    layers: list[Mapping[str, Any]],
    magic: Mapping[str, Any],
) -> dict[str, Any]:
    """Merge the layers (later wins) and render templated values in dependency order."""
    raw: dict[str, Any] = {}
    for layer in layers:
        raw.update(layer)
    done: dict[str, Any] = dict(magic)
    stack: list[str] = []

    def resolve(name: str) -> Any:
        if name in done:
            return done[name]
        if name in stack:
            cycle = " -> ".join([*stack[stack.index(name) :], name])
            raise VariableError(name, f"variables refer to each other in a cycle: {cycle}")
        stack.append(name)
        try:
            # A vault value is opened (and masked) here, for a host the drill targets only.
            value = reveal(raw[name], templar.secrets)
            for dep in _dependencies(templar, value):
                if dep in raw:
                    resolve(dep)
            try:
                done[name] = templar.render(value, done)
            except TemplateError as exc:
                raise VariableError(name, f"variable {name!r} on host {host.name}: {exc}") from None
        finally:
            stack.pop()
        return done[name]

    for name in raw:
        resolve(name)
    return done


def _dependencies(templar: Templar, value: Any) -> set[str]:
    if isinstance(value, str):
        try:
            return templar.variables_used(value)
        except TemplateError:
            return set()  # rendering will report it
    if isinstance(value, dict):
        return set().union(*(_dependencies(templar, v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_dependencies(templar, v) for v in value)) if value else set()
    return set()


def parse_extra_vars(items: list[str]) -> dict[str, Any]:
    """`-e` as ansible-playbook reads it: `NAME=VALUE` (the value stays text), an inline
    JSON or YAML mapping (`-e '{"ports": [80, 443]}'`: values keep their types), or
    `@FILE`, a JSON or YAML file holding a mapping. Files and inline mappings are read as
    YAML 1.1, as Ansible reads vars files (`no` is false). Later items win.

    Raises ValueError naming the bad item; a file or mapping that is not valid YAML raises
    InputError located in it."""
    from runner.yamlpos import load_yaml

    result: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            doc = load_yaml(item[1:], yaml11=True)
            if not isinstance(doc.value, dict):
                raise ValueError(f"-e {item}: the file must hold a mapping of variables")
            result.update(_named(item, doc.value))
            continue
        if item.lstrip().startswith(("{", "[")):
            doc = load_yaml("<command line>", item, yaml11=True)
            if not isinstance(doc.value, dict):
                raise ValueError(
                    f"-e {item!r}: give a mapping of variables, such as '{{\"a\": 1}}'"
                )
            result.update(_named(item, doc.value))
            continue
        if "=" not in item:
            raise ValueError(f"-e {item!r}: expected NAME=VALUE, a JSON mapping or @FILE")
        name, value = item.split("=", 1)
        if not name.isidentifier():
            raise ValueError(f"-e {item!r}: {name!r} is not a variable name")
        result[name] = value
    return result


def _named(item: str, mapping: dict[Any, Any]) -> dict[str, Any]:
    """A mapping's variables; a key that cannot name a variable is bad input."""
    for key in mapping:
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"-e {item}: {key!r} is not a variable name")
    return mapping
