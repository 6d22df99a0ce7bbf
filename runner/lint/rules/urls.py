"""URLs in `http` steps, `wait_for` and probes can be requested."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runner.errors import Diagnostic
from runner.lint.rules.base import ERROR, LintContext, PathKey, Rule, mapping
from runner.playbook.loader import strings_in
from runner.urls import SCHEMES, url_problem, without_credentials

INVALID_URL = "invalid-url"


def invalid_url(ctx: LintContext) -> Iterator[Diagnostic]:
    """A URL that cannot be requested: no `http://` or `https://`, a port that is not a
    number from 1 to 65535, an invalid host name or IPv6 address, spaces or control
    characters. A URL written out is checked whole; a templated one by the part before its
    first `{{` (the rest is checked when the drill is planned, before anything runs). A
    password in a URL must be URL-encoded, `/` included (`{{ pw | urlencode |
    replace('/', '%2F') }}`): an unencoded `/` ends the host early.

        verify:
          - http: {url: "http://{{ host.address }}:80800/health"}   # port out of range
    """
    for path, text in _urls(ctx):
        problem = _problem(text)
        if problem:
            yield ctx.diag(path, f"url {without_credentials(text)!r} {problem}")


def _urls(ctx: LintContext) -> Iterator[tuple[PathKey, str]]:
    """The URL strings of `http` steps, `wait_for: {http: …}`, and probes."""
    for step in ctx.steps:
        if step.action is None:
            continue
        args, path = step.args, (*step.path, step.action)
        if step.action == "http" and isinstance(args, dict):
            yield from _url_of(args, path)
        elif step.action == "wait_for" and isinstance(args, dict):
            target = args.get("http")
            if isinstance(target, str):
                yield (*path, "http"), target
            else:
                yield from _url_of(target, (*path, "http"))
    for name, spec in mapping(ctx.data.get("probes")).items():
        for at, text in strings_in(spec, ("probes", name)):
            if len(at) >= 2 and at[-1] == "url" and "http" in at:
                yield at, text


def _url_of(args: Any, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    url = mapping(args).get("url")
    if isinstance(url, str):
        yield (*path, "url"), url


def _problem(text: str) -> str | None:
    cut = min((i for i in (text.find("{{"), text.find("{%")) if i >= 0), default=-1)
    if cut < 0:
        return url_problem(text)
    prefix = text[:cut]
    if not prefix:
        return None  # all of it comes from a variable: checked when planned
    starts = tuple(f"{s}://" for s in SCHEMES)
    if "://" in prefix:
        return None if prefix.startswith(starts) else "must start with http:// or https://"
    if any(s.startswith(prefix) for s in starts):
        return None
    return "must start with http:// or https://"


RULES = (
    Rule(
        INVALID_URL,
        ERROR,
        "A URL that cannot be requested fails the drill at run time; find it before.",
        invalid_url,
    ),
)
