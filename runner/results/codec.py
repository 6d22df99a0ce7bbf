"""RunResult to JSON and back, by walking the dataclasses' own fields and types.

One walker for every nested type, so result.json's keys, their order and what is left out
follow model.py alone. `decode` is strict: a missing field, an unknown key or a value of the
wrong type is a ResultShapeError, never a default.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from runner.results.model import RunResult
from runner.secrets import SecretMask

T = TypeVar("T")


class ResultShapeError(ValueError):
    """A value that does not have RunResult's shape (at `path`, a JSON pointer)."""


@cache
def hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a dataclass."""
    return get_type_hints(cls)


def is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def encode(value: Any) -> Any:
    """A dataclass (and what it holds) as JSON values, fields in declaration order."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            omit = f.metadata.get("omit")
            if (omit == "none" and item is None) or (omit == "empty" and item == ""):
                continue
            out[f.name] = encode(item)
        return out
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def result_json(result: RunResult) -> dict[str, Any]:
    """result.json's content."""
    out: dict[str, Any] = encode(result)
    return out


def write_json(path: Path, data: dict[str, Any], mask: SecretMask) -> None:
    """Write atomically (tmp + rename), secrets masked."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(mask.mask_value(data), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def decode(tp: type[T], data: Any) -> T:
    """`data` (JSON values) as `tp`; ResultShapeError when it does not fit."""
    out: T = _decode(tp, data, "")
    return out


def decode_value(tp: Any, data: Any) -> Any:
    """`data` checked against a non-class type (a Literal, a union): itself, or an error."""
    return _decode(tp, data, "")


def _fail(path: str, why: str) -> ResultShapeError:
    return ResultShapeError(f"{path or '/'}: {why}")


def _decode(tp: Any, data: Any, path: str) -> Any:
    if tp is Any:
        return data
    if is_union(tp):
        errors = []
        for option in get_args(tp):
            try:
                return _decode(option, data, path)
            except ResultShapeError as exc:
                errors.append(str(exc))
        raise _fail(path, "fits none of: " + "; ".join(errors))
    if tp is type(None):
        if data is not None:
            raise _fail(path, "expected null")
        return None
    origin = get_origin(tp)
    if origin is Literal:
        if data not in get_args(tp) or isinstance(data, bool) != any(
            isinstance(a, bool) for a in get_args(tp)
        ):
            raise _fail(path, f"expected one of {list(get_args(tp))}, got {data!r}")
        return data
    if origin is tuple:
        if not isinstance(data, list):
            raise _fail(path, "expected an array")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{path}/{i}") for i, v in enumerate(data))
        if len(data) != len(args):
            raise _fail(path, f"expected {len(args)} items")
        return tuple(
            _decode(a, v, f"{path}/{i}") for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    if origin is dict:
        if not isinstance(data, dict):
            raise _fail(path, "expected an object")
        _, value_type = get_args(tp)
        return {k: _decode(value_type, v, f"{path}/{k}") for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, data, path)
    if tp is bool:
        if not isinstance(data, bool):
            raise _fail(path, "expected a boolean")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise _fail(path, "expected an integer")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise _fail(path, "expected a number")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise _fail(path, "expected a string")
        return data
    raise TypeError(f"no decoding for {tp!r}")  # a type model.py should not use


def _decode_dataclass(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise _fail(path, f"expected an object ({cls.__name__})")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise _fail(path, f"unknown keys {unknown} for {cls.__name__}")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _decode(hints(cls)[name], data[name], f"{path}/{name}")
        elif f.metadata.get("omit") is None:
            raise _fail(path, f"missing {name!r} ({cls.__name__})")
    return cls(**kwargs)


__all__ = ["ResultShapeError", "decode", "decode_value", "encode", "result_json", "write_json"]
