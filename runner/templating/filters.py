"""The filters drill authors use beyond Jinja's own (Ansible habits), and the guards every
filter runs behind: the render bounds, and secret tracking through encodings.

A filter that turns a secret into another form (`b64encode`, `urlencode`, `to_json`,
`quote`, `upper`, …) registers its result as a secret too, so `('user:' ~ password) |
b64encode` in an Authorization header is masked like the password itself.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

import regex
import yaml
from jinja2 import Undefined
from jinja2.exceptions import FilterArgumentError

from runner.secrets import MIN_FORM, SecretMask
from runner.templating import render_bounds, render_state

# Filters whose int arguments size their result (a width, a count of slices or lines).
_SIZING = frozenset({"center", "indent", "wordwrap", "truncate", "slice", "batch", "format"})


def _b64encode(value: Any, encoding: str = "utf-8") -> str:
    data = value if isinstance(value, bytes) else str(value).encode(encoding)
    return base64.b64encode(data).decode("ascii")


def _b64decode(value: Any, encoding: str = "utf-8") -> str:
    try:
        data = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("b64decode: the value is not base64") from None
    return data.decode(encoding, "replace")


def _mapping(value: Any) -> dict[Any, Any]:
    """A read-only mapping (`hostvars`, `groups`, a host's variables) as JSON knows it."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _to_json(value: Any, indent: int | None = None, sort_keys: bool = True) -> str:
    return json.dumps(value, sort_keys=sort_keys, indent=indent, default=_mapping)


def _to_nice_json(value: Any, indent: int = 4, sort_keys: bool = True) -> str:
    return json.dumps(value, sort_keys=sort_keys, indent=indent, default=_mapping)


def _from_json(value: Any) -> Any:
    return json.loads(str(value))


def _plain(value: Any) -> Any:
    """`value` as the YAML dumper knows it: Markup (from `| e`) as str, tuples as lists."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _to_yaml(value: Any, indent: int | None = None) -> str:
    return str(
        yaml.safe_dump(_plain(value), default_flow_style=True, indent=indent, sort_keys=True)
    )


def _to_nice_yaml(value: Any, indent: int = 4) -> str:
    return str(
        yaml.safe_dump(_plain(value), default_flow_style=False, indent=indent, sort_keys=True)
    )


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def _flags(ignorecase: bool, multiline: bool) -> int:
    return (regex.IGNORECASE if ignorecase else 0) | (regex.MULTILINE if multiline else 0)


def _regex_search(
    value: Any, pattern: str, *groups: str, ignorecase: bool = False, multiline: bool = False
) -> Any:
    """Ansible's regex_search: the match, or the listed groups (`'\\1'`, `'\\g<name>'`), or None."""
    match = regex.search(
        pattern, str(value), _flags(ignorecase, multiline), timeout=render_state.remaining_s()
    )
    if match is None:
        return None
    if not groups:
        return match.group(0)
    picked = []
    for group in groups:
        ref = group[3:-1] if group.startswith("\\g<") else group.lstrip("\\")
        picked.append(match.group(int(ref) if ref.isdigit() else ref))
    return picked


def _regex_replace(
    value: Any,
    pattern: str = "",
    replacement: str = "",
    ignorecase: bool = False,
    multiline: bool = False,
    count: int = 0,
) -> str:
    result = regex.sub(
        pattern,
        replacement,
        str(value),
        count=count,
        flags=_flags(ignorecase, multiline),
        timeout=render_state.remaining_s(),
    )
    if len(result) > render_state.MAX_OUTPUT_CHARS:
        raise render_bounds.too_large("the regex_replace filter", len(result))
    return str(result)


def _regex_findall(
    value: Any, pattern: str, multiline: bool = False, ignorecase: bool = False
) -> list[Any]:
    return list(
        regex.findall(
            pattern,
            str(value),
            _flags(ignorecase, multiline),
            timeout=render_state.remaining_s(),
        )
    )


def _split(value: Any, sep: str | None = None, maxsplit: int = -1) -> list[str]:
    return str(value).split(sep, maxsplit)


def _basename(value: Any) -> str:
    return posixpath.basename(str(value))


def _dirname(value: Any) -> str:
    return posixpath.dirname(str(value))


def _combine(*dicts: Any, recursive: bool = False, list_merge: str = "replace") -> dict[str, Any]:
    """Ansible's `combine`: later mappings win; `recursive=true` merges nested mappings."""
    if list_merge not in ("replace", "append", "prepend", "keep"):
        raise FilterArgumentError(f"combine: list_merge {list_merge!r} is not known")
    merged: dict[str, Any] = {}
    for d in dicts:
        items = d if isinstance(d, list) else [d]
        for one in items:
            if not isinstance(one, Mapping):
                raise FilterArgumentError(f"combine takes mappings, got {type(one).__name__}")
            merged = _merge(merged, dict(one), recursive, list_merge)
    return merged


def _merge(a: dict[str, Any], b: dict[str, Any], recursive: bool, lists: str) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        old = out.get(key)
        if recursive and isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = _merge(dict(old), dict(value), recursive, lists)
        elif isinstance(old, list) and isinstance(value, list) and lists != "replace":
            out[key] = {"append": old + value, "prepend": value + old, "keep": old}[lists]
        else:
            out[key] = value
    return out


def _dict2items(value: Any, key_name: str = "key", value_name: str = "value") -> list[Any]:
    if not isinstance(value, Mapping):
        raise FilterArgumentError(f"dict2items takes a mapping, got {type(value).__name__}")
    return [{key_name: k, value_name: v} for k, v in value.items()]


def _items2dict(value: Any, key_name: str = "key", value_name: str = "value") -> dict[Any, Any]:
    try:
        return {item[key_name]: item[value_name] for item in value}
    except (KeyError, TypeError) as exc:
        raise FilterArgumentError(
            f"items2dict needs a list of mappings with {key_name!r} and {value_name!r}"
        ) from exc


def _mandatory(value: Any, msg: str | None = None) -> Any:
    if isinstance(value, Undefined):
        raise FilterArgumentError(msg or "a mandatory variable is not defined")
    return value


def _from_yaml(value: Any) -> Any:
    """YAML to a value, through the same bounded loader as playbooks (no alias bombs)."""
    from runner.errors import InputError
    from runner.yamlpos import load_yaml

    try:
        return load_yaml("<from_yaml>", str(value)).value
    except InputError as exc:
        raise FilterArgumentError(f"from_yaml: {exc}") from None


_VERSION_OPS: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "lt": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    "le": lambda c: c <= 0,
    ">": lambda c: c > 0,
    "gt": lambda c: c > 0,
    ">=": lambda c: c >= 0,
    "ge": lambda c: c >= 0,
    "==": lambda c: c == 0,
    "=": lambda c: c == 0,
    "eq": lambda c: c == 0,
    "!=": lambda c: c != 0,
    "<>": lambda c: c != 0,
    "ne": lambda c: c != 0,
}


def _version_key(text: str) -> list[tuple[int, int | str]]:
    # Loose versions, as Ansible's default: numbers compare as numbers, words as words,
    # and a number sorts before a word (1.0 < 1.0a).
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.findall(r"\d+|[A-Za-z]+", text)]


def version_test(value: Any, version: Any, operator: str = "==", strict: bool = False) -> bool:
    """`x is version('1.2', '>=')`, as Ansible's `version` test (loose comparison)."""
    op = _VERSION_OPS.get(str(operator))
    if op is None:
        raise FilterArgumentError(f"version: unknown operator {operator!r}")
    a, b = _version_key(str(value)), _version_key(str(version))
    if strict and not all(re.fullmatch(r"\d+(\.\d+)*", str(v)) for v in (value, version)):
        raise FilterArgumentError(f"version: {value!r} or {version!r} is not a strict version")
    return op((a > b) - (a < b))


EXTRA_FILTERS: dict[str, Callable[..., Any]] = {
    "split": _split,
    "basename": _basename,
    "dirname": _dirname,
    "combine": _combine,
    "dict2items": _dict2items,
    "items2dict": _items2dict,
    "mandatory": _mandatory,
    "from_yaml": _from_yaml,
    # `regex` rather than `re`: its matching stops at a timeout (the render's deadline),
    # where `re` backtracking on `(a|aa)+$` would hold the thread for minutes. It counts
    # that timeout in the process's CPU time: on a busy machine it stops later by the clock.
    "regex_search": _regex_search,
    "regex_replace": _regex_replace,
    "regex_findall": _regex_findall,
    "quote": lambda v: shlex.quote(str(v)),
    "to_json": _to_json,
    "to_nice_json": _to_nice_json,
    "from_json": _from_json,
    "to_yaml": _to_yaml,
    "to_nice_yaml": _to_nice_yaml,
    "b64encode": _b64encode,
    "b64decode": _b64decode,
    "bool": _to_bool,
}


def _join_checked(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """`join`'s arguments, its items listed, refused if the joined text would be too large."""
    # join(eval_ctx, value, d="", attribute=None)
    if len(args) < 2:
        return args
    glue = len(str(args[2])) if len(args) > 2 else 0
    items: list[Any] = []
    size = 0
    # Counted item by item: a long sequence with a large glue is refused once the text
    # passes the limit, not after every item has been listed.
    for item in render_bounds.bounded_iteration(args[1]):
        size += (len(item) if isinstance(item, str) else 1) + (glue if items else 0)
        items.append(item)
        if size > render_state.MAX_OUTPUT_CHARS:
            raise render_bounds.too_large("the join filter", size, at_least=True)
    return (args[0], items, *args[2:])


def _mentions_secret(secrets: SecretMask, value: Any, budget: int = 2000) -> bool:
    """Whether a secret is in `value`'s strings (walked: a filter's arguments may hold the
    whole inventory, and repr-ing it at every call would cost more than the render)."""
    pending = [value]
    while pending:
        budget -= 1
        if budget < 0:  # too big to walk cheaply: look at its text once
            return secrets.found_in(repr(pending))
        item = pending.pop()
        if isinstance(item, str):
            if secrets.found_in(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        elif not isinstance(item, (int, float, bool, type(None))) and secrets.found_in(
            repr(item)  # a namespace, a loop, an undefined
        ):
            return True
    return False


def guarded(name: str, fn: Callable[..., Any], secrets: SecretMask) -> Callable[..., Any]:
    """`fn` behind the render bounds, registering what it makes of a secret as a secret."""

    @functools.wraps(fn)  # keeps Jinja's pass_context/pass_eval_context marker
    def filter_(*args: Any, **kwargs: Any) -> Any:
        render_state.check()
        render_bounds.check_arguments(
            (*args, *kwargs.values()), f"the {name} filter", sizes=name in _SIZING
        )
        if name == "format" and args and isinstance(args[0], str):
            render_bounds.check_percent_format(args[0], tuple(args[1:]))
        if name == "join":
            args = _join_checked(args)
        result = fn(*args, **kwargs)
        if (
            secrets
            and isinstance(result, str)
            and len(result) >= MIN_FORM
            and _mentions_secret(secrets, (args, kwargs))
        ):
            secrets.add(result)
        return result

    return filter_
