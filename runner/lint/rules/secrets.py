"""Secrets are given at run time, never written into the playbook."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from runner.errors import Diagnostic
from runner.lint.rules.base import ERROR, LintContext, PathKey, Rule, is_templated, mapping

PLAINTEXT_SECRET = "plaintext-secret"

# Key names that hold a secret, and suffixes that make them name one (a file, a variable).
_SECRET_KEY = re.compile(
    r"passw(or)?d|passphrase|^pass$|_pass$|^pwd$|secret|token|api_?key|apikey|"
    r"private_?key|access_?key|auth_?key|credential|authorization",
    re.IGNORECASE,
)
_REFERENCE_SUFFIX = re.compile(
    r"(_file|_path|_dir|_env|_var|_name|_header|_url|_length|_ttl|_id)$", re.IGNORECASE
)

# Well-known shapes of credentials, wherever they appear in a string.
SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b")),
    ("a GitHub token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b")),
    ("a GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("a Stripe secret key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{24,}")),
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    (
        "a JSON web token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ),
    # user:password@ in a URL, unless the password is a template or a shell variable.
    ("a password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@{}$]+:[^\s/@{}$]+@")),
)

_ADVICE = (
    "give it with -e NAME=… and list it under `secrets:`, or read it with {{ env('NAME') }} "
    "and list NAME under `env:`"
)


def plaintext_secret(ctx: LintContext) -> Iterator[Diagnostic]:
    """A password, token or key written in the playbook in plain text.

    Flagged: a literal value (not a template) under a key named like a secret (`password`,
    `token`, `secret`, `api_key`, `private_key`, `credential`, … but not `password_file` or
    `token_url`) in `vars`, step arguments or probes; and, anywhere in those strings, text
    shaped like a credential: AWS access key ids (`AKIA…`), GitHub (`ghp_…`), GitLab,
    Slack and Stripe tokens, Google API keys, JSON web tokens, PEM private keys, and
    `user:password@` in URLs. Playbooks are reviewed and committed; a secret in one is
    leaked. Give secrets at run time with `-e` and list their names under `secrets:`, or read
    them with `{{ env('X') }}` (declared under `env:`, masked by default), so every output
    masks them.

        vars:
          db_password: hunter2     # give it with -e db_password=… and list it in secrets
    """
    for path, value in _values(ctx):
        key = next((k for k in reversed(path) if isinstance(k, str)), "")
        if _secret_key(key) and _literal(value):
            yield ctx.diag(
                path, f"`{_dotted(path)}` looks like a secret written in plain text; {_ADVICE}"
            )
            continue
        if isinstance(value, str):
            for what, shape in SHAPES:
                if shape.search(value):
                    yield ctx.diag(path, f"`{_dotted(path)}` holds {what} in plain text; {_ADVICE}")
                    break


def _values(ctx: LintContext) -> Iterator[tuple[PathKey, Any]]:
    """Every scalar under `vars`, the steps' action arguments, and the probes."""
    yield from _scalars(mapping(ctx.data.get("vars")), ("vars",))
    for step in ctx.steps:
        if step.action is not None:
            yield from _scalars(step.args, (*step.path, step.action))
    yield from _scalars(mapping(ctx.data.get("probes")), ("probes",))


def _scalars(value: Any, path: PathKey) -> Iterator[tuple[PathKey, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _scalars(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _scalars(item, (*path, index))
    else:
        yield path, value


def _secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and not _REFERENCE_SUFFIX.search(key)


def _literal(value: Any) -> bool:
    """A value written out: a non-empty string that is not a template, or a number."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip()) and not is_templated(value)
    return isinstance(value, (int, float))


def _dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


RULES = (
    Rule(
        PLAINTEXT_SECRET,
        ERROR,
        "A secret committed in a playbook is leaked; give it at run time and mask it.",
        plaintext_secret,
    ),
)
