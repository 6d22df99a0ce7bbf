"""Ansible host patterns: `all`, names, globs, `~regex`, `a:b`, `a,b`, `a:&b`, `a:!b`, and
subscripts `web[0]`, `web[-1]`, `web[0:2]`, `web[1:]`.

As in Ansible, union terms apply first, then intersections (`&`), then exclusions (`!`),
whatever order they were written in; a pattern of only `&`/`!` terms starts from `all`.
Hosts come out in Ansible's order: union terms in the order written, each term's hosts in
its group's order (see `Inventory.group_members`), without duplicates. A plain name that
matches nothing is an error here (Ansible only warns), because a typo in a drill must not
silently target nobody.
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from runner.inventory.connection_fields import LOCALHOST_NAMES

if TYPE_CHECKING:
    from runner.inventory.model import Host, Inventory

# Characters that make a term search host names even when it matched a group (Ansible's
# list: a '.' is there because host names such as web1.example.com carry one).
_HOST_SEARCH_CHARS = frozenset("*?[.")
# `expr[3]`, `expr[-1]`, `expr[0:2]`, `expr[1:]` (Ansible's PATTERN_WITH_SUBSCRIPT, less
# the `[x-y]` form Ansible has removed, which reads here as the glob it looks like).
_SUBSCRIPT = re.compile(
    r"^(?P<expr>.+)\[(?:(?P<index>-?[0-9]+)|(?P<start>[0-9]+):(?P<end>[0-9]*))\]$"
)


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
    """The hosts `pattern` selects from `inventory`, in Ansible's order, without duplicates."""
    terms = split_pattern(pattern)
    unions = [t for t in terms if t[0] not in "&!"] or ["all"]
    ordered = [*unions, *(t for t in terms if t[0] == "&"), *(t for t in terms if t[0] == "!")]
    selected: dict[str, Host] = {}
    for term in ordered:
        if term[0] == "&":
            keep = {h.name for h in _match_term(inventory, term[1:])}
            selected = {name: host for name, host in selected.items() if name in keep}
        elif term[0] == "!":
            drop = {h.name for h in _match_term(inventory, term[1:])}
            selected = {name: host for name, host in selected.items() if name not in drop}
        elif term in inventory.hosts:  # a plain host name is that host, as in Ansible
            selected.setdefault(term, inventory.hosts[term])
        else:
            for host in _match_term(inventory, term):
                selected.setdefault(host.name, host)
    return list(selected.values())


def _match_term(inventory: Inventory, term: str) -> list[Host]:
    """The hosts one term (operator removed) selects, subscript applied."""
    expr, subscript = _split_subscript(term)
    hosts = _enumerate(inventory, expr)
    if subscript is None:
        return hosts
    start, end = subscript
    try:
        if end is None:
            return [hosts[start]]
        return hosts[start : (len(hosts) if end == -1 else end + 1)]
    except IndexError:
        raise PatternError(
            f"host pattern {term!r}: index {start} is outside the {len(hosts)} host(s) "
            f"that {expr!r} selects (the first is [0], the last [-1])"
        ) from None


def _split_subscript(term: str) -> tuple[str, tuple[int, int | None] | None]:
    """`web[1:]` → ('web', (1, -1)); a regex term keeps its brackets (as in Ansible)."""
    if term.startswith("~"):
        return term, None
    match = _SUBSCRIPT.match(term)
    if match is None:
        return term, None
    if match.group("index") is not None:
        return match.group("expr"), (int(match.group("index")), None)
    end = match.group("end")
    return match.group("expr"), (int(match.group("start")), int(end) if end else -1)


def _enumerate(inventory: Inventory, term: str) -> list[Host]:
    """Hosts one term matches, in the way Ansible matches it (`_enumerate_matches`)."""
    matcher = _matcher(term)
    groups = [g for g in inventory.groups if matcher(g)]
    names: dict[str, None] = {}
    for group in groups:
        names.update(dict.fromkeys(inventory.group_members(group)))
    # A name that is a group means the group; hosts are searched when no group matched,
    # or when the term is a glob/regex (or a dotted name) that may cover both.
    searches_hosts = term.startswith("~") or bool(_HOST_SEARCH_CHARS & set(term))
    if not groups or searches_hosts:
        names.update(dict.fromkeys(h for h in inventory.hosts if matcher(h)))
    if names:
        return [inventory.hosts[name] for name in names]
    if term in LOCALHOST_NAMES:
        # As Ansible: another spelling of this machine, else the implicit localhost.
        local = [h for h in inventory.hosts if h in LOCALHOST_NAMES]
        return [inventory.hosts[local[0]]] if local else [inventory.implicit_local_host(term)]
    if groups or searches_hosts:
        return []
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
