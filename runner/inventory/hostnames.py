"""Host entries as Ansible writes them: `web[01:03]` ranges and a `name:port` suffix."""

from __future__ import annotations

import ipaddress
import re
import string

_RANGE = re.compile(r"\[([0-9]*|[a-zA-Z]):([0-9]+|[a-zA-Z])(?::([0-9]+))?\]")
_PORT_SUFFIX = re.compile(r"^(?P<host>.+):(?P<port>[0-9]+)$")
_BRACKETED_V6 = re.compile(r"^\[(?P<host>[0-9a-fA-F:.]+)\](?::(?P<port>[0-9]+))?$")
_BRACKETS = re.compile(r"\[[^\]]*\]")


class HostEntryError(ValueError):
    """A host entry that cannot be read; the message says why."""


def parse_host_entry(entry: str) -> tuple[list[str], int | None]:
    """Host names an entry stands for, and the port it names (if any)."""
    name, port = _split_port(entry)
    return expand_ranges(name), port


# More hosts than this from one entry is a typo, not a fleet (and would exhaust memory).
MAX_EXPANDED_HOSTS = 10_000
MAX_DIGITS = 9


def expand_ranges(name: str) -> list[str]:
    """Expand every `[a:b]` / `[a:b:step]` range in `name`, as Ansible does."""
    total = 1
    for found in _RANGE.finditer(name):
        total *= _range_size(found)
        if total > MAX_EXPANDED_HOSTS:
            raise HostEntryError(
                f"host range in {name!r} expands to more than {MAX_EXPANDED_HOSTS} hosts"
            )
    match = _RANGE.search(name)
    if match is None:
        if "[" in name or "]" in name:
            # `host[1:]`, `host[a-1]`, `[all` (a section header missing its `]`): kept as a
            # name, it would be a host nobody meant, then contacted.
            raise HostEntryError(
                f"cannot read host {name!r}: brackets hold a range such as [1:3], [01:10:2] "
                "or [a:c]; a section header is [group] on a line of its own"
            )
        return [name]
    head, tail = name[: match.start()], name[match.end() :]
    return [head + item + rest for item in _range_items(match) for rest in expand_ranges(tail)]


def _range_size(match: re.Match[str]) -> int:
    """How many names a range stands for, computed without listing them."""
    begin, end, step_text = match.group(1) or "0", match.group(2), match.group(3)
    if any(len(part or "") > MAX_DIGITS for part in (begin, end, step_text)):
        raise HostEntryError(f"host range {match.group(0)}: numbers of at most {MAX_DIGITS} digits")
    if not (begin.isdecimal() and end.isdecimal()):
        return len(string.ascii_letters)  # letters: at most 52, checked when listed
    step = int(step_text) if step_text else 1
    return max(0, (int(end) - int(begin)) // max(step, 1) + 1)


def _range_items(match: re.Match[str]) -> list[str]:
    begin, end, step_text = match.group(1) or "0", match.group(2), match.group(3)
    step = int(step_text) if step_text else 1
    if step < 1:
        raise HostEntryError(f"host range {match.group(0)} needs a step of 1 or more")
    if begin.isdigit() != end.isdigit():
        raise HostEntryError(f"host range {match.group(0)} mixes letters and numbers")
    if not begin.isdigit():
        letters = string.ascii_letters
        first, last = letters.index(begin), letters.index(end)
        if first > last:
            raise HostEntryError(f"host range {match.group(0)} runs backwards")
        return list(letters[first : last + 1 : step])
    width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
    if width and len(end) != width:
        raise HostEntryError(
            f"host range {match.group(0)}: zero-padded ends must have the same width"
        )
    if int(begin) > int(end):
        raise HostEntryError(f"host range {match.group(0)} runs backwards")
    return [str(n).zfill(width) for n in range(int(begin), int(end) + 1, step)]


def _split_port(entry: str) -> tuple[str, int | None]:
    if _is_ipv6(entry):
        return entry, None
    bracketed = _BRACKETED_V6.match(entry)
    if bracketed and _is_ipv6(bracketed.group("host")):
        port = bracketed.group("port")
        return bracketed.group("host"), _port_number(port) if port else None
    if entry.count("[") != entry.count("]"):
        return entry, None  # an unclosed range: refused whole, its colon is not a port's
    colons = _BRACKETS.sub("", entry).count(":")
    if colons == 0:
        return entry, None
    match = _PORT_SUFFIX.match(entry)
    if colons > 1 or match is None:
        raise HostEntryError(
            f"cannot read host {entry!r}: write 'name' or 'name:port' (a port is digits only)"
        )
    return match.group("host"), _port_number(match.group("port"))


def _port_number(text: str) -> int:
    if len(text) > 5 or not text.isdecimal() or not 1 <= int(text) <= 65535:
        raise HostEntryError(f"port {text[:12]!r} is not a number from 1 to 65535")
    return int(text)


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False
