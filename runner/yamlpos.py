"""YAML loading that remembers where every value came from.

PyYAML's constructors forget positions, keep the last of duplicate keys and read
`yes`/`no`/`on`/`off` as booleans (YAML 1.1). Drill files are reviewed by people who
expect YAML 1.2 and errors that point at a line, so we compose the node graph and
build plain values ourselves, recording a line:col for every value and mapping key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runner.errors import Diagnostic, InputError
from runner.input_files import read_input_text
from runner.vault import VaultValue

PathKey = tuple[str | int, ...]

# Longer numbers are refused: no drill needs them, and Python refuses to convert > 4300 digits.
MAX_NUMBER_DIGITS = 1000

# A document whose aliases expand past this many values is refused ("billion laughs").
MAX_EXPANDED_VALUES = 200_000

_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9][0-9_]*$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")

# Ansible's tag for an inline encrypted value (`ansible-vault encrypt_string`).
VAULT_TAG = "!vault"

_STD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass(frozen=True)
class Mark:
    line: int
    col: int


@dataclass
class YamlDocument:
    """A loaded YAML file: its plain value plus the position of every part of it."""

    path: str
    value: Any
    marks: dict[PathKey, Mark] = field(default_factory=dict)
    key_marks: dict[PathKey, Mark] = field(default_factory=dict)
    # Problems that still leave a usable value (duplicate keys, odd tags), kept when not strict.
    problems: list[Diagnostic] = field(default_factory=list)

    def mark(self, path: Sequence[str | int]) -> Mark:
        """Position of the value at `path`, or of its nearest located ancestor."""
        key = tuple(path)
        while key:
            if key in self.marks:
                return self.marks[key]
            key = key[:-1]
        return self.marks.get((), Mark(1, 1))

    def key_mark(self, path: Sequence[str | int]) -> Mark:
        """Position of the mapping key that names `path` (falls back to the value)."""
        return self.key_marks.get(tuple(path)) or self.mark(path)

    def diag(
        self, path: Sequence[str | int], message: str, *, at_key: bool = False, rule: str = ""
    ) -> Diagnostic:
        m = self.key_mark(path) if at_key else self.mark(path)
        return Diagnostic(self.path, m.line, m.col, message, rule)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


# PyYAML's own YAML 1.1 constructors, for plain scalars of files Ansible reads (inventories).
_YAML11 = yaml.constructor.SafeConstructor()
_YAML11_TAGS = {
    "tag:yaml.org,2002:bool": _YAML11.construct_yaml_bool,
    "tag:yaml.org,2002:int": _YAML11.construct_yaml_int,
    "tag:yaml.org,2002:float": _YAML11.construct_yaml_float,
    "tag:yaml.org,2002:null": _YAML11.construct_yaml_null,
}


class _Builder:
    def __init__(self, doc: YamlDocument, yaml11: bool = False) -> None:
        self.doc = doc
        self.yaml11 = yaml11
        self.errors: list[Diagnostic] = []
        self.in_progress: set[int] = set()
        self.expanded = 0

    def error(self, node: yaml.Node, message: str) -> None:
        m = _mark(node)
        self.errors.append(Diagnostic(self.doc.path, m.line, m.col, message))

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_VALUES:
            raise _TooLarge(node)
        self.doc.marks.setdefault(path, _mark(node))
        if id(node) in self.in_progress:
            self.error(node, "recursive alias: a value may not contain itself")
            return None
        explicit = getattr(node, "_explicit_tag", False) or not isinstance(node, yaml.ScalarNode)
        if node.tag == VAULT_TAG:
            return self.vault(node)
        if explicit and (
            node.tag.startswith("!") or (node.tag.startswith("tag:") and node.tag not in _STD_TAGS)
        ):
            self.error(node, f"unsupported YAML tag {node.tag!r}")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        self.in_progress.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self.mapping(node, path)
        finally:
            self.in_progress.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        seen: dict[str, Mark] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or (
                isinstance(key_node, yaml.ScalarNode)
                and key_node.value == "<<"
                and key_node.style is None
            ):
                merges.append(value_node)  # after the explicit keys, whose positions win
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node, "mapping keys must be plain scalars, not collections")
                continue
            key = key_node.value
            if key in seen:
                first = seen[key]
                self.error(
                    key_node,
                    f"duplicate key {key!r} "
                    f"(first defined at line {first.line}, column {first.col})",
                )
                continue
            seen[key] = _mark(key_node)
            key_path = (*path, key)
            self.doc.key_marks.setdefault(key_path, _mark(key_node))
            result[key] = self.build(value_node, key_path)
        for value_node in merges:
            self.merge(value_node, path, merged)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def merge(self, node: yaml.Node, path: PathKey, into: dict[str, Any]) -> None:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            value = self.build(source, path)
            if not isinstance(value, dict):
                self.error(source, "a merge key (<<) needs a mapping or a list of mappings")
                continue
            for key, item in value.items():
                into.setdefault(key, item)

    def vault(self, node: yaml.Node) -> Any:
        """An Ansible Vault value: kept sealed, opened only when a targeted host needs it."""
        if not isinstance(node, yaml.ScalarNode) or not node.value.lstrip().startswith(
            "$ANSIBLE_VAULT"
        ):
            self.error(node, "a !vault value must be the text `ansible-vault encrypt_string` gives")
            return None
        m = _mark(node)
        return VaultValue(node.value, self.doc.path, m.line, m.col)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        text = node.value
        explicit = node.tag if getattr(node, "_explicit_tag", False) else None
        if explicit is None and node.style is not None:  # quoted or block scalar
            return text
        if explicit == "tag:yaml.org,2002:str":
            return text
        if explicit is None and self.yaml11:
            return self.scalar11(node)
        if explicit in (None, "tag:yaml.org,2002:null") and _NULL.match(text):
            return None
        if explicit in (None, "tag:yaml.org,2002:bool") and text in _BOOL:
            return _BOOL[text]
        too_long = len(text) > MAX_NUMBER_DIGITS
        if (
            too_long
            and explicit in (None, "tag:yaml.org,2002:int")
            and (_INT.match(text) or _INT_HEX.match(text) or _INT_OCT.match(text))
        ):
            self.error(node, f"number has more than {MAX_NUMBER_DIGITS} digits")
            return None
        if explicit in (None, "tag:yaml.org,2002:int"):
            if _INT.match(text):
                return int(text.replace("_", ""))
            if _INT_HEX.match(text):
                return int(text[2:], 16)
            if _INT_OCT.match(text):
                return int(text[2:], 8)
        if explicit in (None, "tag:yaml.org,2002:float"):
            if _FLOAT.match(text) and any(c.isdigit() for c in text):
                return float(text.replace("_", ""))
            if _INF.match(text):
                return -math.inf if text.startswith("-") else math.inf
            if _NAN.match(text):
                return math.nan
        if explicit is not None:
            self.error(node, f"value {text!r} does not fit its tag {explicit!r}")
            return None
        return text

    def scalar11(self, node: yaml.ScalarNode) -> Any:
        """A plain scalar as YAML 1.1 (and so Ansible) reads it: `no` is false, `0755` is 493,
        `1:20` is 80, `1e3` is text. Dates stay text, as they print in Ansible's output."""
        construct = _YAML11_TAGS.get(node.tag)
        if construct is None:
            return node.value
        if len(node.value) > MAX_NUMBER_DIGITS:
            self.error(node, f"number has more than {MAX_NUMBER_DIGITS} digits")
            return None
        return construct(node)


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


class _TaggingComposer(yaml.SafeLoader):
    """Composer that flags scalars whose tag the author wrote explicitly."""

    def compose_scalar_node(self, anchor: Any) -> yaml.ScalarNode:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        node = super().compose_scalar_node(anchor)
        if event.tag == "!":  # the non-specific tag: "this is a string"
            node.tag = "tag:yaml.org,2002:str"
            node._explicit_tag = True  # type: ignore[attr-defined]
        elif event.tag is not None:
            node._explicit_tag = True  # type: ignore[attr-defined]
        return node


def load_yaml(
    path: str | Path, text: str | None = None, *, strict: bool = True, yaml11: bool = False
) -> YamlDocument:
    """Load one YAML document, raising InputError with every problem located.

    Plain scalars follow YAML 1.2 (`no` is text), or YAML 1.1 with `yaml11=True`, as Ansible
    reads inventories and vars files (`no` is false, `0755` is octal).

    With `strict=False`, problems that leave a usable value (a duplicate key keeps its
    first value) are returned in `problems` so the caller can report them beside its own.
    """
    display = str(path)
    if text is None:
        text = read_input_text(path, display)
    doc = YamlDocument(display, None)
    try:
        loader = _TaggingComposer(text)  # the reader already checks the characters here
    except yaml.reader.ReaderError as exc:
        line, col = _position(text, exc.position)
        raise InputError.at(
            display, line, col, f"invalid YAML: {exc.reason} ({exc.character!r})"
        ) from None
    try:
        node = loader.get_single_node()
    except yaml.composer.ComposerError as exc:
        raise _yaml_error(display, exc) from None
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(display, exc) from None
    except yaml.YAMLError as exc:
        raise InputError.at(display, 1, 1, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise InputError.at(display, 1, 1, "YAML nesting is too deep") from None
    finally:
        loader.dispose()
    if node is None:
        doc.marks[()] = Mark(1, 1)
        return doc
    builder = _Builder(doc, yaml11)
    try:
        doc.value = builder.build(node, ())
    except _TooLarge as exc:
        m = _mark(exc.node)
        raise InputError.at(
            display, m.line, m.col, f"document expands to more than {MAX_EXPANDED_VALUES} values"
        ) from None
    except RecursionError:
        raise InputError.at(display, 1, 1, "YAML nesting is too deep") from None
    if builder.errors and strict:
        raise InputError(builder.errors)
    doc.problems = builder.errors
    return doc


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


# What PyYAML was inside when an opener was never closed, and how a user names the opener.
_UNCLOSED = {
    "while parsing a flow sequence": "'['",
    "while parsing a flow mapping": "'{'",
    "while scanning a quoted scalar": "quoted string",
}


def _yaml_error(path: str, exc: yaml.MarkedYAMLError) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "invalid YAML"
    if exc.context and "expected a single document" in exc.context:
        problem = "expected a single YAML document, found more than one"
    opener = _UNCLOSED.get(exc.context or "")
    start = exc.context_mark
    if opener and start is not None and mark is not None and start.line != mark.line:
        # A '[', '{' or quote left open is noticed lines later (often at the end of the
        # file); the mistake is at the opener, so that is where the message points.
        return InputError.at(
            path,
            start.line + 1,
            start.column + 1,
            f"invalid YAML: this {opener} is never closed ({problem} at line {line}, column {col})",
        )
    return InputError.at(path, line, col, f"invalid YAML: {problem}")
