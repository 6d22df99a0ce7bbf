"""URLs an author writes (in `http` steps, `wait_for`, probes): checked, and credentials in
them turned into an Authorization header, as curl does, instead of a crash.

`http://user:pass@host/` is valid, but the standard library's HTTP client reads `user:pass@host`
as a host and a port, and raises. The password never reaches a message either: messages name
the URL without its credentials.
"""

from __future__ import annotations

import base64
import ipaddress
import urllib.parse
from dataclasses import dataclass

SCHEMES = ("http", "https")


@dataclass(frozen=True)
class RequestTarget:
    """A URL without its credentials, and the header that carries them (if any)."""

    url: str
    authorization: str | None = None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be requested, or None (a rendered URL, not a template)."""
    if not url.startswith(tuple(f"{s}://" for s in SCHEMES)):
        return "must start with http:// or https://"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "must not contain spaces or control characters (URL-encode them)"
    # Messages quote no part of the URL: a mistyped one may hold a piece of a password.
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "is not a valid URL (check the brackets around an IPv6 address)"
    try:
        port = parts.port
    except ValueError:
        return (
            "has a port that is not a number from 1 to 65535 (a password in it must be "
            "URL-encoded, '/' included)"
        )
    host = parts.hostname or ""
    if not host:
        return "has no host"
    if port == 0:
        return "has port 0"
    if parts.netloc.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return "has an invalid IPv6 address"
    elif not all(_label_ok(label) for label in host.rstrip(".").split(".")):
        return "has an invalid host name"
    return None


def _label_ok(label: str) -> bool:
    try:
        encoded = label.encode("idna")
    except UnicodeError:
        return False
    return 0 < len(encoded) <= 63 and not label.startswith("-") and not label.endswith("-")


def without_credentials(url: str) -> str:
    """`url` without what could be `user:password@` (for messages and summaries).

    Everything up to the last `@` before the query goes, even when an unencoded `/` in a
    password makes the URL parse otherwise.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    head = rest.split("?", 1)[0].split("#", 1)[0]
    if "@" not in head:
        return url
    return f"{scheme}://{rest[head.rindex('@') + 1 :]}"


def request_target(url: str) -> RequestTarget:
    """Split `user:password@` out of `url` into a Basic Authorization header."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return RequestTarget(url)
    if "@" not in parts.netloc:
        return RequestTarget(url)
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    token = base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return RequestTarget(urllib.parse.urlunsplit(parts._replace(netloc=host)), f"Basic {token}")
