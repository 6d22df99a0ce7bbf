"""Ansible's YAML inventory layout: `all:` with `hosts`, `children` and `vars`, to any depth."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.errors import InputError
from runner.inventory.hostnames import HostEntryError, parse_host_entry
from runner.inventory.schema import INVENTORY_SCHEMA
from runner.inventory.source import InventoryBuilder, InventorySource, Located, Origin
from runner.validation import validate_document
from runner.yamlpos import YamlDocument, load_yaml

YamlPath = tuple[str | int, ...]


def parse_yaml_inventory(path: str | Path, text: str | None = None) -> InventorySource:
    """Read a YAML (or JSON) inventory file.

    Unreadable YAML and schema violations raise InputError; problems in names, ranges and
    group links are returned in `problems`, so the loader can report them with the rest.
    """
    doc = load_yaml(path, text, yaml11=True)
    problems = validate_document(doc, INVENTORY_SCHEMA)
    if problems:
        raise InputError(problems)
    reader = _Reader(doc)
    for name, data in (doc.value or {}).items():
        reader.group(name, data, (name,), parent=None)
    return reader.builder.finish()


def located_vars(doc: YamlDocument, mapping: Any, path: YamlPath) -> dict[str, Located]:
    """The variables of a YAML mapping (None counts as empty), each with its position."""
    if not isinstance(mapping, dict):
        return {}
    return {key: Located(value, _origin(doc, (*path, key))) for key, value in mapping.items()}


def _origin(doc: YamlDocument, path: Sequence[str | int], *, at_key: bool = False) -> Origin:
    mark = doc.key_mark(path) if at_key else doc.mark(path)
    return Origin(doc.path, mark.line, mark.col)


class _Reader:
    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.builder = InventoryBuilder(doc.path)

    def group(self, name: str, data: Any, path: YamlPath, parent: str | None) -> None:
        origin = _origin(self.doc, path, at_key=True)
        if not self.builder.declare_group(name, origin):
            return
        if parent is not None:
            self.builder.add_child(parent, name, origin)
        # Keys are read in the order written, so hosts keep their file order.
        for key, value in (data or {}).items():
            if key == "vars":
                self.builder.add_group_vars(name, located_vars(self.doc, value, (*path, key)))
            elif key == "hosts":
                for entry, host_vars in (value or {}).items():
                    self.host(name, entry, host_vars, (*path, key, entry))
            elif key == "children":
                for child, child_data in (value or {}).items():
                    self.group(child, child_data, (*path, key, child), parent=name)

    def host(self, group: str, entry: str, data: Any, path: YamlPath) -> None:
        origin = _origin(self.doc, path, at_key=True)
        try:
            names, port = parse_host_entry(entry)
        except HostEntryError as exc:
            self.builder.error(origin, str(exc))
            return
        host_vars = located_vars(self.doc, data, path)
        if port is not None:
            host_vars = {"ansible_port": Located(port, origin), **host_vars}
        for host in names:
            self.builder.add_host(host, origin, group, host_vars)
