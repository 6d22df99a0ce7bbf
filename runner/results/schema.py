"""The JSON Schema of result.json, generated from RunResult's types (never written by hand).

`drillctl schema result` prints it; docs/schema/result.schema.json is this output, committed (a
test keeps the two equal). Every field is required unless model.py lets it be left out, no
object takes keys the type does not have, and each value must have its field's type.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Union, get_args, get_origin

from runner.results.codec import hints, is_union
from runner.results.model import SCHEMA_VERSION, RunResult

SCHEMA_ID = "https://drillctl.dev/schema/result.schema.json"


def result_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of result.json."""
    defs: dict[str, Any] = {}
    root = _object(RunResult, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "drillctl result.json",
        **root,
        "description": f"A drill run's result, schema version {SCHEMA_VERSION} "
        "(docs/result-json.md). Generated from runner/results/model.py.",
        "$defs": dict(sorted(defs.items())),
    }


def _object(cls: Any, defs: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        tp = hints(cls)[f.name]
        if f.metadata.get("omit") is None:
            required.append(f.name)
        elif f.metadata["omit"] == "none" and is_union(tp):
            # Left out when None, so never written as null.
            tp = Union[tuple(a for a in get_args(tp) if a is not type(None))]  # noqa: UP007
        properties[f.name] = _type(tp, defs)
    schema: dict[str, Any] = {"type": "object"}
    doc = (cls.__doc__ or "").strip()
    if doc and not doc.startswith(f"{cls.__name__}("):  # not dataclass's generated one
        schema["description"] = " ".join(doc.split())
    schema.update(properties=properties, required=required, additionalProperties=False)
    return schema


def _type(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if tp is Any:
        return {}
    if is_union(tp):
        options = [_type(a, defs) for a in get_args(tp)]
        return {"anyOf": options}
    if tp is type(None):
        return {"type": "null"}
    origin = get_origin(tp)
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _type(args[0], defs)}
        return {
            "type": "array",
            "prefixItems": [_type(a, defs) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin is dict:
        return {"type": "object", "additionalProperties": _type(get_args(tp)[1], defs)}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # a placeholder first: a type may (one day) refer to itself
            defs[name] = _object(tp, defs)
        return {"$ref": f"#/$defs/{name}"}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON Schema for {tp!r}")  # a type model.py should not use
