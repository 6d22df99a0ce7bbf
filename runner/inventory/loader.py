"""Load an inventory file with its group_vars/host_vars into an `Inventory`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from runner.errors import Diagnostic, InputError
from runner.input_files import read_input_text
from runner.inventory.connection_fields import resolve_connection
from runner.inventory.ini_inventory import parse_ini_inventory
from runner.inventory.merge import merge_sources
from runner.inventory.model import Group, Host, Inventory
from runner.inventory.near_misses import misspelled_reach_names
from runner.inventory.precedence import Precedence
from runner.inventory.source import ALL, UNGROUPED, InventorySource, Located
from runner.inventory.vars_files import VarsFiles, load_vars_files, merge_vars_files
from runner.inventory.yaml_inventory import parse_yaml_inventory
from runner.yamlpos import load_yaml

YAML_SUFFIXES = (".yml", ".yaml", ".json")
IMPLICIT_PATH = "(implicit localhost)"


def load_inventory(path: str | Path | Sequence[str | Path]) -> Inventory:
    """Read one inventory file, or several merged as Ansible merges `-i a -i b`.

    YAML by extension (.yml/.yaml/.json), INI by any other; a file without an extension is
    YAML when it reads as a YAML mapping, else INI (Ansible tries its YAML plugin first).
    Each file's `group_vars/` and `host_vars/` apply, a later file's winning.
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths:
        raise InputError.at("-i", 1, 1, "no inventory given")
    sources, problems = [], []
    for each in paths:
        try:
            sources.append(_read_source(each))
        except InputError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise InputError(problems)
    display = ",".join(str(p) for p in paths)
    source = merge_sources(display, sources)
    layers: list[VarsFiles] = []
    for folder in dict.fromkeys(Path(p).parent for p in paths):
        try:
            layers.append(load_vars_files(folder, source.groups, source.hosts))
        except InputError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise InputError([*source.problems, *problems])
    return assemble(source, merge_vars_files(layers))


def _read_source(path: str | Path) -> InventorySource:
    display, file = str(path), Path(path)
    if file.is_dir():
        raise InputError.at(
            display, 1, 1, "is a directory: give an inventory file, such as inventories/local.yml"
        )
    if not file.exists():
        raise InputError.at(display, 1, 1, "file not found")
    if file.suffix.lower() in YAML_SUFFIXES:
        return parse_yaml_inventory(display)
    text = read_input_text(file, display)
    if text.startswith("#!/"):
        # Read as INI, a script's lines became hosts (`exec` a host to reach over SSH).
        raise InputError.at(
            display,
            1,
            1,
            "this is a script (it starts with #!): dynamic inventory scripts are not run; "
            "run it yourself and give its output, saved as a YAML file, with -i",
        )
    if not file.suffix and _reads_as_yaml_mapping(display, text):
        return parse_yaml_inventory(display, text)
    return parse_ini_inventory(display, text)


def _reads_as_yaml_mapping(display: str, text: str) -> bool:
    """Whether an extensionless file is a YAML inventory: a mapping of groups to mappings."""
    try:
        doc = load_yaml(display, text, yaml11=True)
    except InputError:
        return False
    value = doc.value
    return isinstance(value, dict) and all(v is None or isinstance(v, dict) for v in value.values())


def implicit_localhost() -> Inventory:
    """The inventory used when none is given: `localhost`, run locally, in group `all`."""
    host = Host(
        "localhost", "localhost", "local", None, None, MappingProxyType({}), (ALL, UNGROUPED)
    )
    groups = {
        ALL: Group(ALL, (), (UNGROUPED,), MappingProxyType({})),
        UNGROUPED: Group(UNGROUPED, ("localhost",), (), MappingProxyType({})),
    }
    return Inventory(
        IMPLICIT_PATH, MappingProxyType({"localhost": host}), MappingProxyType(groups), None
    )


def assemble(source: InventorySource, files: VarsFiles) -> Inventory:
    """Apply precedence and resolve every host's connection; all problems raised together."""
    rules = Precedence(source, files)
    problems = list(source.problems)
    groups = {
        name: Group(name, group.hosts, group.children, _plain(rules.group_vars(name)))
        for name, group in source.groups.items()
    }
    hosts: dict[str, Host] = {}
    unusable: dict[str, tuple[Diagnostic, ...]] = {}
    warnings: dict[str, tuple[Diagnostic, ...]] = {}
    for name in source.hosts:
        located = rules.host_vars(name)
        fields, found, deferred = resolve_connection(name, located)
        problems.extend(found)
        if deferred:
            unusable[name] = tuple(deferred)
        suspicious = misspelled_reach_names(located)
        if suspicious:
            warnings[name] = tuple(suspicious)
        hosts[name] = Host(
            name=name,
            address=fields.address,
            connection=fields.connection,
            port=fields.port,
            user=fields.user,
            vars=_plain(located),
            groups=tuple(rules.host_groups(name)),
        )
    environment = _environment(rules.group_vars(ALL), problems)
    if problems:
        raise InputError(sorted(set(problems)))
    return Inventory(
        source.path,
        MappingProxyType(hosts),
        MappingProxyType(groups),
        environment,
        MappingProxyType(unusable),
        MappingProxyType(warnings),
    )


def _environment(all_vars: dict[str, Located], problems: list[Diagnostic]) -> str | None:
    item = all_vars.get("environment")
    if item is None or item.value is None:
        return None
    if not isinstance(item.value, str):
        problems.append(item.origin.diag("environment must be a string, such as 'staging'"))
        return None
    return item.value


def _plain(located: dict[str, Located]) -> MappingProxyType[str, Any]:
    return MappingProxyType({key: item.value for key, item in located.items()})
