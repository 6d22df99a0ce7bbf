"""Jinja2 templating in a sandbox with strict undefined variables.

Drill files are reviewed code, but they still should not reach Python internals, so
templates render in `SandboxedEnvironment`. A missing variable is an error, never an
empty string: an empty string in a rollback command is how data gets deleted.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

from jinja2 import (
    StrictUndefined,
    TemplateAssertionError,
    TemplateSyntaxError,
    Undefined,
    UndefinedError,
    meta,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from runner.playbook.secrets import SecretMask


class TemplateError(Exception):
    """A template could not be rendered; `lineno` is relative to the template text."""

    def __init__(self, message: str, lineno: int = 1) -> None:
        super().__init__(message)
        self.lineno = lineno


def _has_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


# A template that computes for longer than this is refused (rendering is text, not work).
RENDER_LIMIT_S = 2.0
MAX_EXPONENT_BITS = 10_000


class _BoundedSandbox(SandboxedEnvironment):
    """The sandbox, refusing powers that would take minutes of big-number arithmetic."""

    intercepted_binops = frozenset({"**"})  # also keeps the compiler from folding them

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * abs(left).bit_length() > MAX_EXPONENT_BITS
        ):
            raise SecurityError(f"{left} ** {right} is too large to compute in a template")
        return super().call_binop(context, operator, left, right)


class _TooSlow(Exception):
    pass


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Bound rendering in the main thread (preflight renders every template there first)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getitimer(signal.ITIMER_REAL)[0]
    ):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _TooSlow()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Templar:
    """Renders strings and nested values against a variable mapping."""

    def __init__(self, secrets: SecretMask | None = None) -> None:
        self.secrets = secrets if secrets is not None else SecretMask()
        env = _BoundedSandbox(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        env.filters["quote"] = lambda v: shlex.quote(str(v))
        env.filters["to_json"] = lambda v: json.dumps(v, sort_keys=True)
        env.filters["from_json"] = lambda v: json.loads(str(v))
        env.filters["secret"] = self._mark_secret
        env.filters["bool"] = _to_bool
        env.globals["env"] = self._env_lookup
        self.env = env

    def _mark_secret(self, value: Any) -> Any:
        self.secrets.add(value)
        return value

    def _env_lookup(self, name: str, default: str | None = None, secret: bool = False) -> str:
        value = os.environ.get(name, default)
        if value is None:
            raise UndefinedError(f"environment variable {name!r} is not set")
        if secret:
            self.secrets.add(value)
        return value

    def render(self, value: Any, variables: Mapping[str, Any]) -> Any:
        """Render every string inside `value` (dicts and lists are walked)."""
        if isinstance(value, str):
            return self.render_text(value, variables)
        if isinstance(value, dict):
            return {k: self.render(v, variables) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, variables) for v in value]
        return value

    def render_text(self, text: str, variables: Mapping[str, Any]) -> str:
        if not _has_template(text):
            return text
        try:
            with _time_limit(RENDER_LIMIT_S):
                return self.env.from_string(text).render(variables)
        except _TooSlow:
            raise TemplateError(
                f"template took longer than {RENDER_LIMIT_S:g}s to render"
            ) from None
        except TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax error: {exc.message}", exc.lineno) from None
        except UndefinedError as exc:
            raise TemplateError(f"undefined variable: {exc.message}") from None
        except SecurityError as exc:
            raise TemplateError(f"template not allowed in the sandbox: {exc}") from None
        except Exception as exc:  # any other error raised inside the template is the author's
            raise TemplateError(f"template error: {type(exc).__name__}: {exc}") from None

    def evaluate(self, expression: str | bool, variables: Mapping[str, Any]) -> Any:
        """Evaluate a bare expression (`when`, `until`, `assert`), Ansible style."""
        if isinstance(expression, bool):
            return expression
        text = expression.strip()
        if text.startswith("{{") and text.endswith("}}"):
            text = text[2:-2]
        try:
            value = self.env.compile_expression(text, undefined_to_none=False)(**variables)
            if isinstance(value, Undefined):
                value._fail_with_undefined_error()
            return value
        except TemplateSyntaxError as exc:
            raise TemplateError(f"expression syntax error: {exc.message}", exc.lineno) from None
        except UndefinedError as exc:
            raise TemplateError(f"undefined variable: {exc.message}") from None
        except SecurityError as exc:
            raise TemplateError(f"expression not allowed in the sandbox: {exc}") from None
        except Exception as exc:
            raise TemplateError(f"expression error: {type(exc).__name__}: {exc}") from None

    def check_syntax(self, text: str, *, expression: bool = False) -> TemplateError | None:
        try:
            self.parse(text, expression=expression)
        except TemplateError as exc:
            return exc
        return None

    def parse(self, text: str, *, expression: bool = False) -> nodes.Template:
        """Parse and compile-check (unknown filters and tests are found here, not at run time)."""
        return _analysis(text, expression).tree()

    def variables_used(self, text: str, *, expression: bool = False) -> set[str]:
        """Top-level variable names a template reads (for the undefined-variable lint)."""
        if not expression and not _has_template(text):
            return set()
        return set(_analysis(text, expression).used())

    def variables_required(self, text: str, *, expression: bool = False) -> set[str]:
        """`variables_used`, less names guarded by `| default` or `is defined`."""
        if not expression and not _has_template(text):
            return set()
        analysis = _analysis(text, expression)
        return set(analysis.used() - analysis.guarded())


class _Analysis:
    """One template's parse tree (or its error) and the names it reads, computed once.

    Lint looks at every template string several times (syntax, undefined and unused
    variables, shell quoting); parsing and compile-checking each time cost most of lint.
    """

    def __init__(self, text: str, expression: bool) -> None:
        source = "{{ " + _strip_braces(text) + " }}" if expression else text
        self._tree: nodes.Template | None = None
        self._error: TemplateError | None = None
        self._used: frozenset[str] | None = None
        self._guarded: frozenset[str] | None = None
        try:
            tree = _CHECKER.parse(source)
            # Generating the code finds unknown filters and sandbox refusals; compiling it to
            # bytecode would find nothing more.
            _CHECKER.compile(tree, raw=True)
            self._tree = tree
        except TemplateAssertionError as exc:  # e.g. an unknown filter or test
            self._error = TemplateError(f"template error: {exc.message}", exc.lineno or 1)
        except TemplateSyntaxError as exc:
            self._error = TemplateError(f"template syntax error: {exc.message}", exc.lineno or 1)
        except SecurityError as exc:  # constant folding ran into the sandbox
            self._error = TemplateError(f"template not allowed in the sandbox: {exc}")
        except (SyntaxError, ValueError, ArithmeticError) as exc:  # e.g. a non-ASCII digit
            self._error = TemplateError(f"template syntax error: {exc}")

    def tree(self) -> nodes.Template:
        if self._error is not None:
            raise self._error
        assert self._tree is not None
        return self._tree

    def used(self) -> frozenset[str]:
        if self._used is None:
            self._used = frozenset(meta.find_undeclared_variables(self.tree()))
        return self._used

    def guarded(self) -> frozenset[str]:
        if self._guarded is None:
            self._guarded = frozenset(
                node.node.name
                for node in self.tree().find_all((nodes.Filter, nodes.Test))
                if node.name in _GUARDS and isinstance(node.node, nodes.Name)
            )
        return self._guarded


@functools.lru_cache(maxsize=8192)
def _analysis(text: str, expression: bool) -> _Analysis:
    return _Analysis(text, expression)


# Filters and tests that make an undefined variable harmless.
_GUARDS = frozenset({"default", "d", "defined", "undefined"})


def _checking_env() -> _BoundedSandbox:
    """An environment with a Templar's filter and global names, for checking templates."""
    return Templar().env


def _strip_braces(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        return stripped[2:-2]
    return stripped


def _to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


_CHECKER = _checking_env()
