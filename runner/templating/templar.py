"""Jinja2 templating in a sandbox with strict undefined variables.

Drill files are reviewed code, but they still should not reach Python internals, so
templates render in `SandboxedEnvironment`. A missing variable is an error, never an
empty string: an empty string in a rollback command is how data gets deleted.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
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
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError

from runner.errors import InputError
from runner.secrets import MIN_FORM, SecretMask
from runner.templating.filters import EXTRA_FILTERS, guarded, version_test
from runner.templating.render_bounds import (
    ITERATION_FILTER,
    MAX_OUTPUT_CHARS,
    RENDER_LIMIT_S,
    SLICE_FILTER,
    BoundedNamespace,
    BoundedSandbox,
    RenderCancelled,
    RenderTooLarge,
    RenderTooSlow,
    bounded,
    bounded_iteration,
    render_bounded,
    slice_of,
)


class TemplateError(Exception):
    """A template could not be rendered; `lineno` is relative to the template text."""

    def __init__(self, message: str, lineno: int = 1) -> None:
        super().__init__(message)
        self.lineno = lineno


def _has_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


class RenderInterrupted(TemplateError):
    """Rendering was cancelled from another thread (`Templar.cancel`): not the template's fault."""


LOOKUP_FILE_MAX = 1_000_000


class Templar:
    """Renders strings and nested values against a variable mapping."""

    def __init__(self, secrets: SecretMask | None = None) -> None:
        self.secrets = secrets if secrets is not None else SecretMask()
        # Registered results whose output is secret from the moment the step ends (listed
        # under `secrets:`, or passed through `| secret` by some template of the drill).
        self.secret_results: set[str] = set()
        self._cancel = threading.Event()
        env = BoundedSandbox(
            undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        env.filters.update(EXTRA_FILTERS)
        env.filters["secret"] = self._mark_secret
        env.filters[ITERATION_FILTER] = bounded_iteration
        env.filters[SLICE_FILTER] = slice_of
        for name, fn in list(env.filters.items()):
            if name != ITERATION_FILTER:
                env.filters[name] = guarded(name, fn, self.secrets)
        env.globals["env"] = self._env_lookup
        env.globals["lookup"] = self._lookup
        env.tests["version"] = version_test
        env.globals["namespace"] = BoundedNamespace
        env.derived = self._derived
        self.env = env

    def _derived(self, source: str, result: Any) -> None:
        """What a string method makes of a secret is a secret."""
        if (
            self.secrets
            and isinstance(result, str)
            and len(result) >= MIN_FORM
            and self.secrets.found_in(source)
        ):
            self.secrets.add(result)

    def cancel(self) -> None:
        """Stop every render of this Templar, in any thread, now and from now on."""
        self._cancel.set()

    def _mark_secret(self, value: Any) -> Any:
        self.secrets.add(value)
        return value

    def _env_lookup(self, name: str, default: str | None = None, secret: bool | None = None) -> str:
        """`env('NAME')`: an environment variable of the controller, masked unless the
        playbook says `secret=false` (an environment is where credentials live).

        Unless `secret=true` says so, a value shorter than MIN_FORM characters (`1`, `on`)
        is not masked: hiding every `1` in the output would hide the drill's figures.
        """
        value = os.environ.get(name)
        if value is None:
            if default is None:
                raise UndefinedError(f"environment variable {name!r} is not set")
            return str(default)  # written in the playbook: not a secret
        if secret or (secret is None and len(value) >= MIN_FORM):
            self.secrets.add(value)
        return value

    def _lookup(self, plugin: str, *terms: Any, **options: Any) -> str:
        """Ansible's `lookup('env', NAME)` (as `env()`, masked the same way) and
        `lookup('file', PATH)` (a file on the controller, at most 1 MB, its text stripped of
        the final newline as Ansible does)."""
        if len(terms) != 1:
            raise UndefinedError(f"lookup({plugin!r}, ...) takes one name or path")
        term = str(terms[0])
        if plugin == "env":
            secret = options.get("secret")
            return self._env_lookup(term, options.get("default"), secret)
        if plugin == "file":
            try:
                with open(term, "rb") as handle:
                    data = handle.read(LOOKUP_FILE_MAX + 1)
            except OSError as exc:
                raise UndefinedError(f"lookup('file', {term!r}): {exc.strerror or exc}") from None
            if len(data) > LOOKUP_FILE_MAX:
                raise UndefinedError(f"lookup('file', {term!r}): larger than 1 MB")
            return data.decode("utf-8", errors="replace").rstrip("\n")
        raise UndefinedError(f"lookup plugin {plugin!r} is not available: use 'env' or 'file'")

    def _failed(self, message: str, lineno: int = 1) -> TemplateError:
        # Error messages quote values (`has no attribute "hunter2"`); they are output too.
        return TemplateError(self.secrets.mask(message), lineno)

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
            with bounded(self._cancel):
                template = self.env.from_string(text)
                return render_bounded(template.generate(variables))
        except Exception as exc:
            raise self._error(exc, "template") from None

    def evaluate(self, expression: str | bool, variables: Mapping[str, Any]) -> Any:
        """Evaluate a bare expression (`when`, `until`, `assert`), Ansible style."""
        if isinstance(expression, bool):
            return expression
        text = expression.strip()
        if text.startswith("{{") and text.endswith("}}"):
            text = text[2:-2]
        try:
            with bounded(self._cancel):
                value = self.env.compile_expression(text, undefined_to_none=False)(**variables)
                if isinstance(value, Undefined):
                    value._fail_with_undefined_error()
                return value
        except Exception as exc:
            raise self._error(exc, "expression") from None

    def _error(self, exc: Exception, what: str) -> TemplateError:
        """The TemplateError for anything raised while rendering (all of it is the author's,
        but a cancel), with secret values masked out of the message."""
        if isinstance(exc, RenderCancelled):
            return RenderInterrupted(f"{what} rendering was interrupted")
        if isinstance(exc, (RenderTooSlow, TimeoutError)):  # TimeoutError: a regex filter
            return self._failed(f"{what} took longer than {RENDER_LIMIT_S:g}s to render")
        if isinstance(exc, RenderTooLarge):
            return self._failed(f"{what} output is larger than {MAX_OUTPUT_CHARS} characters")
        if isinstance(exc, TemplateSyntaxError):
            return self._failed(f"{what} syntax error: {exc.message}", exc.lineno)
        if isinstance(exc, UndefinedError):
            return self._failed(f"undefined variable: {exc.message}")
        if isinstance(exc, SecurityError):
            return self._failed(f"{what} not allowed in the sandbox: {exc}")
        if isinstance(exc, InputError):  # a value that is bad input where it was written
            return self._failed(str(exc))
        if isinstance(exc, RecursionError):
            return self._failed(f"{what} error: recursion too deep")
        return self._failed(f"{what} error: {type(exc).__name__}: {exc}")

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

    def variables_marked_secret(self, text: str, *, expression: bool = False) -> set[str]:
        """Names a template passes through the `secret` filter (`{{ out.stdout | secret }}`)."""
        if not expression and not _has_template(text):
            return set()
        try:
            tree = _analysis(text, expression).tree()
        except TemplateError:
            return set()  # rendering will report it
        return {
            name.name
            for node in tree.find_all(nodes.Filter)
            if node.name == "secret" and node.node is not None
            for name in node.node.find_all(nodes.Name)
        }

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
            # bytecode would find nothing more. The same pass records the names the template
            # reads, as `meta.find_undeclared_variables` would in a second one.
            generator = _CheckingGenerator(_CHECKER)
            generator.visit(tree)
            self._tree = tree
            self._used = frozenset(generator.undeclared_identifiers)
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
        self.tree()  # a template that did not parse raises its error here
        assert self._used is not None
        return self._used

    def guarded(self) -> frozenset[str]:
        if self._guarded is None:
            self._guarded = frozenset(
                node.node.name
                for node in self.tree().find_all((nodes.Filter, nodes.Test))
                if node.name in _GUARDS and isinstance(node.node, nodes.Name)
            )
        return self._guarded


class _CheckingGenerator(meta.TrackingCodeGenerator):
    """The code generator `Environment.compile` runs (its checks and errors), writing no
    code, and remembering every name the template reads from its context."""

    def __init__(self, environment: BoundedSandbox) -> None:
        CodeGenerator.__init__(self, environment, None, None)
        self.undeclared_identifiers = set()


@functools.lru_cache(maxsize=8192)
def _analysis(text: str, expression: bool) -> _Analysis:
    return _Analysis(text, expression)


# Filters and tests that make an undefined variable harmless.
_GUARDS = frozenset({"default", "d", "defined", "undefined"})


def checking_templar() -> Templar:
    """The process's one Templar for checking templates (parse, names read), never for
    rendering: its checks keep no state, so building one per playbook linted only cost time."""
    return _CHECKING


def _strip_braces(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        return stripped[2:-2]
    return stripped


# An environment with a Templar's filter and global names, for checking templates.
_CHECKING = Templar()
_CHECKER = _CHECKING.env
