"""Ansible host patterns: `all`, names, globs, `~regex`, `a:b`, `a,b`, `a:&b`, `a:!b`.

As in Ansible, union terms apply first, then intersections (`&`), then exclusions (`!`),
whatever order they were written in; a pattern of only `&`/`!` terms starts from `all`.
The result keeps inventory (file) order. A plain name that matches nothing is an error
here (Ansible only warns), because a typo in a drill must not silently target nobody.
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import re
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import TYPE_CHECKING

from runner.inventory.connection_fields import LOCALHOST_NAMES
from runner.inventory.model import Host

if TYPE_CHECKING:
    from runner.inventory.model import Inventory

_GLOB_CHARS = frozenset("*?[")


class PatternError(ValueError):
    """A host pattern that is malformed or names a host or group that does not exist."""


def split_pattern(pattern: str) -> list[str]:
    """The terms of a pattern, operators (`&`, `!`) still attached."""
    text = pattern.strip()
    if not text:
        raise PatternError("empty host pattern: name a host, a group, or 'all'")
    terms: list[str] = []
    for piece in text.split(","):
        piece = piece.strip()
        if _is_ipv6(piece):  # '::1' is one host, not three empty terms
            terms.append(piece)
            continue
        terms.extend(_split_colons(piece, pattern))
    for term in terms:
        if not term:
            raise PatternError(f"host pattern {pattern!r} has an empty term")
        if term[0] in "&!" and (len(term) == 1 or term[1] in "&!"):
            raise PatternError(
                f"host pattern {pattern!r}: {term[0]!r} needs one host or group name after it"
            )
    return terms


def _split_colons(piece: str, pattern: str) -> list[str]:
    """Split on ':' outside [brackets], keeping empty terms so they can be reported."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in piece:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        if char == ":" and depth == 0:
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    if depth:
        raise PatternError(f"host pattern {pattern!r} has an unclosed '['")
    terms.append("".join(current).strip())
    return terms


def select_hosts(inventory: Inventory, pattern: str) -> list[Host]:
    """The hosts `pattern` selects from `inventory`, in inventory order, without duplicates."""
    terms = split_pattern(pattern)
    unions = [t for t in terms if t[0] not in "&!"]
    wanted: set[str] = set()
    extra: list[Host] = []  # implicit localhost, when the inventory has no such host
    for term in unions or ["all"]:
        names, implicit = _match_term(inventory, term)
        wanted.update(names)
        if implicit is not None and implicit.name not in {h.name for h in extra}:
            extra.append(implicit)
    for term in terms:
        if term[0] == "&":
            wanted &= set(_match_term(inventory, term[1:])[0])
    for term in terms:
        if term[0] == "!":
            wanted -= set(_match_term(inventory, term[1:])[0])
    return [host for name, host in inventory.hosts.items() if name in wanted] + extra


def _match_term(inventory: Inventory, term: str) -> tuple[list[str], Host | None]:
    """Host names one term matches, in the way Ansible matches it."""
    matcher = _matcher(term)
    wildcard = term.startswith("~") or bool(_GLOB_CHARS & set(term))
    groups = [g for g in inventory.groups if matcher(g)]
    names: list[str] = []
    for group in groups:
        names.extend(inventory.group_members(group))
    # A name that is a group means the group; hosts are searched when no group matched,
    # or when the term is a glob/regex that may cover both.
    if not groups or wildcard:
        names.extend(h for h in inventory.hosts if matcher(h))
    if names or groups or wildcard:
        return names, None
    if term in LOCALHOST_NAMES:
        # As Ansible: another spelling of this machine, else the implicit localhost.
        local = [h for h in inventory.hosts if h in LOCALHOST_NAMES]
        return (local[:1], None) if local else ([], _implicit_localhost(inventory, term))
    raise PatternError(_unknown(inventory, term))


def _matcher(term: str) -> Callable[[str], bool]:
    if not term.startswith("~"):
        return lambda name: fnmatch.fnmatchcase(name, term)
    try:
        regex = re.compile(term[1:])
    except re.error as exc:
        raise PatternError(f"invalid regular expression in host pattern {term!r}: {exc}") from None
    # Anchored at the start, like Ansible (`re.match`): `~web` matches web1, not gateway-web.
    return lambda name: regex.match(name) is not None


def _implicit_localhost(inventory: Inventory, name: str) -> Host:
    """Ansible's implicit localhost: this machine, with group `all`'s variables."""
    all_vars = inventory.groups["all"].vars if "all" in inventory.groups else {}
    variables = MappingProxyType({**all_vars, "ansible_connection": "local"})
    return Host(name, name, "local", None, None, variables, ())


def _unknown(inventory: Inventory, term: str) -> str:
    known: Iterable[str] = [*inventory.hosts, *inventory.groups]
    close = difflib.get_close_matches(term, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"no host or group named {term!r} in {inventory.path}{hint}"


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False
