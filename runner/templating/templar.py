"""Jinja2 templating in a sandbox with strict undefined variables.

Drill files are reviewed code, but they still should not reach Python internals, so
templates render in `SandboxedEnvironment`. A missing variable is an error, never an
empty string: an empty string in a rollback command is how data gets deleted.

Jinja2 loads when a Templar first meets a template (or an expression): a drill whose
strings hold none, and every command that renders nothing, never loads it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runner.errors import InputError
from runner.secrets import MIN_FORM, SecretMask
from runner.templating.render_state import (
    ITERATION_FILTER,
    MAX_OUTPUT_CHARS,
    RENDER_LIMIT_S,
    SLICE_FILTER,
    RenderCancelled,
    RenderTooLarge,
    RenderTooSlow,
    bounded,
)
from runner.templating.template_error import TemplateError as TemplateError

if TYPE_CHECKING:
    from jinja2 import nodes

    from runner.templating.render_bounds import BoundedSandbox


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
        self._env: BoundedSandbox | None = None
        self._env_lock = threading.Lock()

    @property
    def env(self) -> BoundedSandbox:
        """The sandbox, made on first use (by any thread: workers and probes share one)."""
        env = self._env
        if env is None:
            with self._env_lock:
                if self._env is None:
                    self._env = self._sandbox()
                env = self._env
        return env

    def _sandbox(self) -> BoundedSandbox:
        from jinja2 import StrictUndefined

        from runner.templating.filters import EXTRA_FILTERS, guarded, version_test
        from runner.templating.render_bounds import (
            BoundedNamespace,
            BoundedSandbox,
            bounded_iteration,
            slice_of,
        )

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
        return env

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
        from jinja2 import UndefinedError  # called from a template: Jinja2 is loaded

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
        from jinja2 import UndefinedError  # called from a template: Jinja2 is loaded

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
        from runner.templating.render_bounds import render_bounded

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
        from jinja2 import Undefined

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
        from jinja2 import TemplateSyntaxError, UndefinedError
        from jinja2.exceptions import SecurityError

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
        if not expression and not _has_template(text):
            return None  # plain text: nothing for Jinja2 to parse
        try:
            self.parse(text, expression=expression)
        except TemplateError as exc:
            return exc
        return None

    def parse(self, text: str, *, expression: bool = False) -> nodes.Template:
        """Parse and compile-check (unknown filters and tests are found here, not at run time)."""
        from runner.templating.analysis import analysis

        return analysis(text, expression, _CHECKING.env).tree()

    def variables_used(self, text: str, *, expression: bool = False) -> set[str]:
        """Top-level variable names a template reads (for the undefined-variable lint)."""
        if not expression and not _has_template(text):
            return set()
        from runner.templating.analysis import analysis

        return set(analysis(text, expression, _CHECKING.env).used())

    def variables_marked_secret(self, text: str, *, expression: bool = False) -> set[str]:
        """Names a template passes through the `secret` filter (`{{ out.stdout | secret }}`)."""
        if not expression and not _has_template(text):
            return set()
        from runner.templating.analysis import analysis, marked_secret

        try:
            tree = analysis(text, expression, _CHECKING.env).tree()
        except TemplateError:
            return set()  # rendering will report it
        return marked_secret(tree)

    def variables_required(self, text: str, *, expression: bool = False) -> set[str]:
        """`variables_used`, less names guarded by `| default` or `is defined`."""
        if not expression and not _has_template(text):
            return set()
        from runner.templating.analysis import analysis

        found = analysis(text, expression, _CHECKING.env)
        return set(found.used() - found.guarded())


def checking_templar() -> Templar:
    """The process's one Templar for checking templates (parse, names read), never for
    rendering: its checks keep no state, so building one per playbook linted only cost time."""
    return _CHECKING


# The Templar that checks templates (its sandbox is made once something needs checking).
_CHECKING = Templar()
