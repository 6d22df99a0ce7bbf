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
import shlex
from collections.abc import Callable
from typing import Any

import regex
import yaml

from runner.playbook import render_bounds
from runner.playbook.secrets import MIN_FORM, SecretMask

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


def _to_json(value: Any, indent: int | None = None, sort_keys: bool = True) -> str:
    return json.dumps(value, sort_keys=sort_keys, indent=indent)


def _to_nice_json(value: Any, indent: int = 4, sort_keys: bool = True) -> str:
    return json.dumps(value, sort_keys=sort_keys, indent=indent)


def _from_json(value: Any) -> Any:
    return json.loads(str(value))


def _plain(value: Any) -> Any:
    """`value` as the YAML dumper knows it: Markup (from `| e`) as str, tuples as lists."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
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
        pattern, str(value), _flags(ignorecase, multiline), timeout=render_bounds.remaining_s()
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
        timeout=render_bounds.remaining_s(),
    )
    if len(result) > render_bounds.MAX_OUTPUT_CHARS:
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
            timeout=render_bounds.remaining_s(),
        )
    )


EXTRA_FILTERS: dict[str, Callable[..., Any]] = {
    # `regex` rather than `re`: its matching stops at a timeout (the render's deadline),
    # where `re` backtracking on `(a|aa)+$` would hold the thread for minutes.
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
    items = list(render_bounds.bounded_iteration(args[1]))
    glue = args[2] if len(args) > 2 else ""
    size = sum(len(i) if isinstance(i, str) else 1 for i in items)
    size += len(str(glue)) * max(len(items) - 1, 0)
    if size > render_bounds.MAX_OUTPUT_CHARS:
        raise render_bounds.too_large("the join filter", size)
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
        render_bounds.check()
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
