"""`group_vars/` and `host_vars/` beside the inventory file, loaded with positions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from runner.errors import Diagnostic, InputError
from runner.input_files import read_input_text
from runner.inventory.source import Located
from runner.inventory.yaml_inventory import located_vars
from runner.vault import OpenedVault, decrypt_file_text, is_vault_text
from runner.yamlpos import load_yaml

EXTENSIONS = (".yml", ".yaml", ".json")


@dataclass(frozen=True)
class VarsFiles:
    """Variables from vars files, by group name and by host name."""

    groups: Mapping[str, Mapping[str, Located]]
    hosts: Mapping[str, Mapping[str, Located]]


def load_vars_files(inventory_dir: Path, groups: Iterable[str], hosts: Iterable[str]) -> VarsFiles:
    """Vars files for the given groups and hosts; every bad file is reported at once."""
    problems: list[Diagnostic] = []
    found_groups = _load_all(inventory_dir / "group_vars", groups, problems)
    found_hosts = _load_all(inventory_dir / "host_vars", hosts, problems)
    if problems:
        raise InputError(problems)
    return VarsFiles(found_groups, found_hosts)


def merge_vars_files(layers: Iterable[VarsFiles]) -> VarsFiles:
    """Vars files of several inventory folders, a later folder's variable winning."""
    groups: dict[str, dict[str, Located]] = {}
    hosts: dict[str, dict[str, Located]] = {}
    for layer in layers:
        for name, found in layer.groups.items():
            groups.setdefault(name, {}).update(found)
        for name, found in layer.hosts.items():
            hosts.setdefault(name, {}).update(found)
    return VarsFiles(groups, hosts)


def _load_all(
    folder: Path, names: Iterable[str], problems: list[Diagnostic]
) -> dict[str, Mapping[str, Located]]:
    if not folder.is_dir():
        return {}
    loaded: dict[str, Mapping[str, Located]] = {}
    for name in names:
        try:
            files = vars_files_for(folder, name)
            merged: dict[str, Located] = {}
            for file in files:
                merged.update(_load_one(file))
        except InputError as exc:
            problems.extend(exc.diagnostics)
            continue
        if files:
            loaded[name] = merged
    return loaded


def vars_files_for(folder: Path, name: str) -> list[Path]:
    """The files holding `name`'s variables, in the order they apply.

    `NAME` (a file, or a directory whose files merge in sorted order), `NAME.yml`,
    `NAME.yaml` or `NAME.json`. Ansible silently takes the first of these; two of them
    at once is reported, because the other would be ignored.
    """
    if Path(name).name != name or name in (".", ".."):
        return []  # a name like "../x" must not reach outside the folder
    candidates = [folder / name, *(folder / f"{name}{ext}" for ext in EXTENSIONS)]
    present = [p for p in candidates if _exists(p)]
    if len(present) > 1:
        others = ", ".join(str(p) for p in present[1:])
        raise InputError.at(
            str(present[0]), 1, 1, f"variables for {name!r} are also in {others}: keep one"
        )
    if not present:
        return []
    if present[0].is_dir():
        return sorted(
            p
            for p in present[0].rglob("*")
            if p.is_file()
            and (p.suffix in EXTENSIONS or not p.suffix)
            and not any(part.startswith(".") for part in p.relative_to(present[0]).parts)
        )
    return present


def _exists(path: Path) -> bool:
    """Whether `path` exists; a name the file system cannot hold (too long) does not."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _load_one(file: Path) -> dict[str, Located]:
    text = read_input_text(file)
    encrypted = is_vault_text(text)
    if encrypted:
        text = decrypt_file_text(text, str(file))
    doc = load_yaml(file, text, yaml11=True)
    if doc.value is None:
        return {}
    if not isinstance(doc.value, dict):
        raise InputError(
            [doc.diag([], "a vars file must be a mapping of variable names to values")]
        )
    found = located_vars(doc, doc.value, ())
    if not encrypted:
        return found
    # Every value of an encrypted file is a secret: opened (and masked) where it is used.
    return {
        name: replace(item, value=OpenedVault(item.value, str(file)))
        for name, item in found.items()
    }
