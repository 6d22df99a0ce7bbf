"""JSON Schema validation whose findings point at the YAML that caused them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from runner.errors import Diagnostic
from runner.yamlpos import YamlDocument

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def validate_document(
    doc: YamlDocument,
    schema: dict[str, Any],
    templated_ok: Callable[[Sequence[str | int]], bool] | None = None,
) -> list[Diagnostic]:
    """Every schema violation in `doc`, one diagnostic each, located and phrased for people.

    Where `templated_ok(path)` says so, a template string is not held to value constraints
    (type, pattern, enum…): its value is known only once rendered, and is checked then.
    """
    validator = _validator(schema)
    found: list[Diagnostic] = []
    for error in validator.iter_errors(doc.value):
        specific = _most_specific(error)
        if (
            templated_ok is not None
            and _templated(specific.instance)
            and specific.validator in _VALUE_CHECKS
            and templated_ok(list(specific.absolute_path))
        ):
            continue
        found.extend(_diagnose(doc, specific))
    return sorted(set(found))


# One validator per schema for the process: building one (and resolving its `$ref`s again)
# per document cost lint of many files a large share of its time. Keyed on the schema
# object, which is held here so its id cannot be reused by another dict.
_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    known = _VALIDATORS.get(id(schema))
    if known is None or known[0] is not schema:
        known = (schema, Draft202012Validator(schema))
        _VALIDATORS[id(schema)] = known
    return known[1]


# Constraints on a value (not on structure), which a template string cannot be held to.
_VALUE_CHECKS = frozenset(
    {
        "type",
        "pattern",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "format",
        "oneOf",
    }
)


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _most_specific(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf, report the branch that got furthest rather than 'not valid under any'."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        deepest = max(error.context, key=lambda e: (len(e.absolute_path), -_rank(e)))
        if len(deepest.absolute_path) > len(error.absolute_path):
            return _most_specific(deepest)
    return error


def _rank(error: ValidationError) -> int:
    return 1 if error.validator == "type" else 0


def _diagnose(doc: YamlDocument, error: ValidationError) -> Iterable[Diagnostic]:
    path = list(error.absolute_path)
    schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    rule: Any = error.validator_value
    where = ".".join(str(p) for p in path) or "document"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in error.instance:
            if key in allowed or _matches_pattern(schema, key):
                continue
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            label = schema.get("x-unknown-key-label", "key")
            yield doc.diag([*path, key], f"unknown {label} {key!r}{suggestion}", at_key=True)
        return
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield doc.diag(path, f"{where}: missing required key {missing!r}", at_key=True)
        return
    if error.validator == "type":
        names = [rule] if isinstance(rule, str) else list(rule)
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        got = _describe(error.instance)
        yield doc.diag(path, f"{where}: expected {wanted}, got {got}")
        return
    if error.validator == "enum":
        options = ", ".join(repr(v) for v in rule)
        yield doc.diag(path, f"{where}: {error.instance!r} is not one of {options}")
        return
    if error.validator == "pattern" and "x-pattern-hint" in schema:
        yield doc.diag(path, f"{where}: {schema['x-pattern-hint']}, got {error.instance!r}")
        return
    message = schema.get("x-message")
    yield doc.diag(path, f"{where}: {message or error.message}")


def _matches_pattern(schema: dict[str, Any], key: str) -> bool:
    return any(re.search(p, key) for p in schema.get("patternProperties", {}))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {value!r}".lower()
    if isinstance(value, str):
        if value in ("yes", "no", "on", "off", "y", "n"):
            return f"the string {value!r} (write true or false; YAML 1.2 reads {value!r} as text)"
        return f"the string {value!r}"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
