"""Ansible's INI inventory: `[group]` host lines, `[group:vars]`, `[group:children]`."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from runner.inventory.hostnames import HostEntryError, parse_host_entry
from runner.inventory.source import (
    ALL,
    UNGROUPED,
    InventoryBuilder,
    InventorySource,
    Located,
    Origin,
)

_SECTION = re.compile(r"^\[(?P<name>[^:\]\s]+)(?::(?P<kind>\w+))?\]\s*(?:[#;].*)?$")
_GROUP_LINE = re.compile(r"^(?P<name>[^:\]\s]+)\s*(?:[#;].*)?$")
_KINDS = ("hosts", "children", "vars")
_MAX_LITERAL = 10_000  # longer values stay text rather than feed the literal parser


class _LineError(Exception):
    def __init__(self, col: int, message: str) -> None:
        super().__init__(message)
        self.col = col


@dataclass
class _Pending:
    """References that may name a group declared further down the file."""

    vars: dict[str, tuple[Origin, dict[str, Located]]] = field(default_factory=dict)
    children: list[tuple[str, str, Origin]] = field(default_factory=list)


def parse_ini_inventory(path: str, text: str) -> InventorySource:
    """Read an INI inventory; `problems` are located at the offending token (`path:line:col`)."""
    builder = InventoryBuilder(path)
    pending = _Pending()
    declared = {ALL, UNGROUPED}
    group, kind = UNGROUPED, "hosts"
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        indent = len(line) - len(line.lstrip())
        at = Origin(path, lineno, indent + 1)
        try:
            header = _section(stripped, indent)
            if header is not None:
                group, kind = header
                if kind == "vars":
                    pending.vars.setdefault(group, (Origin(path, lineno, indent + 2), {}))
                elif builder.declare_group(group, Origin(path, lineno, indent + 2)):
                    declared.add(group)
            elif kind == "vars":
                key, value = _variable(line, indent)
                pending.vars[group][1][key] = Located(value[0], Origin(path, lineno, value[1]))
            elif kind == "children":
                match = _GROUP_LINE.match(stripped)
                if match is None:
                    raise _LineError(indent + 1, f"expected a group name, got {stripped!r}")
                pending.children.append((group, match.group("name"), at))
            elif group in declared:
                _host_line(builder, group, line, lineno)
        except _LineError as exc:
            builder.error(Origin(path, lineno, exc.col), str(exc))
    _resolve(builder, pending, declared)
    return builder.finish()


def _section(stripped: str, indent: int) -> tuple[str, str] | None:
    if not stripped.startswith("["):
        return None
    match = _SECTION.match(stripped)
    if match is None:
        if stripped.rstrip().endswith("]"):
            raise _LineError(
                indent + 1,
                f"invalid section header {stripped!r}: write [group], "
                "[group:vars] or [group:children], without spaces",
            )
        return None  # a host line such as [::1]:2222
    kind = match.group("kind") or "hosts"
    if kind not in _KINDS:
        col = indent + match.start("kind") + 1
        raise _LineError(col, f"unknown section type {kind!r}: use :vars or :children")
    return match.group("name"), kind


def _resolve(builder: InventoryBuilder, pending: _Pending, declared: set[str]) -> None:
    for name, (origin, group_vars) in pending.vars.items():
        if name in declared:
            builder.add_group_vars(name, group_vars)
        else:
            builder.error(origin, f"[{name}:vars] names a group that is not defined (add [{name}])")
    for parent, child, origin in pending.children:
        if parent not in declared:
            continue  # the [parent:children] header itself was refused, and reported
        if child in declared:
            builder.add_child(parent, child, origin)
        else:
            builder.error(
                origin,
                f"[{parent}:children] lists {child!r}, a group that is not defined "
                f"(add a [{child}] section)",
            )


def _host_line(builder: InventoryBuilder, group: str, line: str, lineno: int) -> None:
    words = split_words(line)
    if not words:
        return
    (entry, entry_col), rest = words[0], words[1:]
    origin = Origin(builder.path, lineno, entry_col)
    try:
        names, port = parse_host_entry(entry)
    except HostEntryError as exc:
        raise _LineError(entry_col, str(exc)) from None
    host_vars: dict[str, Located] = {}
    if port is not None:
        host_vars["ansible_port"] = Located(port, origin)
    for word, col in rest:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise _LineError(col, f"expected key=value after the host name, got {word!r}")
        host_vars[key] = Located(parse_value(value), Origin(builder.path, lineno, col))
    for name in names:
        builder.add_host(name, origin, group, host_vars)


def _variable(line: str, indent: int) -> tuple[str, tuple[Any, int]]:
    """`key = value` of a [group:vars] line: the key, and the value with its column.

    As Ansible's INI plugin: everything after the first `=` is the value, a `#` or `;` in it
    included (`a = foo # x` is the text 'foo # x'); only a value that reads as a Python
    literal sheds a trailing comment (`n = 23 # x` is 23), since Python reads it so.
    """
    key, sep, rest = line.partition("=")
    if not sep or not key.strip():
        raise _LineError(indent + 1, f"expected key=value, got {line.strip()!r}")
    col = len(key) + 1 + (len(rest) - len(rest.lstrip())) + 1
    return key.strip(), (parse_value(rest.strip()), col)


def parse_value(text: str) -> Any:
    """An INI value as Ansible reads it: a Python literal, else the text itself.

    `42`, `1.5`, `[1, 2]`, `{'a': 1}`, `True`, `None`, `'quoted'` become values; tuples and
    sets become lists; `yes`, `no`, `true` and `false` stay text (Python knows no such
    names). Only `ast.literal_eval` is used: nothing runs.
    """
    if len(text) > _MAX_LITERAL:
        return text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return _plain(value, text)


def _plain(value: Any, text: str) -> Any:
    """Ansible's coercion of a literal: containers to lists and dicts, odd scalars to text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item, repr(item)) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return text  # a variable's keys are names: other keys keep the text as written
        return {k: _plain(v, repr(v)) for k, v in value.items()}
    if value is Ellipsis:
        return "..."
    return str(value)  # complex numbers, as Ansible


def split_words(line: str) -> list[tuple[str, int]]:
    """Split a host line like POSIX shlex with comments, keeping each word's 1-based column."""
    words: list[tuple[str, int]] = []
    i, end = 0, len(line)
    while i < end:
        if line[i].isspace():
            i += 1
            continue
        if line[i] == "#":
            break
        start, chars = i, []
        while i < end and not line[i].isspace() and line[i] != "#":
            char = line[i]
            if char in "'\"":
                close = _closing_quote(line, i)
                inner = line[i + 1 : close]
                if char == '"':
                    inner = re.sub(r'\\(["\\])', r"\1", inner)
                chars.append(inner)
                i = close + 1
            elif char == "\\" and i + 1 < end:
                chars.append(line[i + 1])
                i += 2
            else:
                chars.append(char)
                i += 1
        words.append(("".join(chars), start + 1))
        if i < end and line[i] == "#":
            break
    return words


def _closing_quote(line: str, start: int) -> int:
    quote, i = line[start], start + 1
    while i < len(line):
        if quote == '"' and line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            return i
        i += 1
    raise _LineError(start + 1, f"unterminated {quote} quote")
