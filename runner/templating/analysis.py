"""A template's parse tree and the names it reads, for checks that never render it:
template syntax at load, the undefined and unused variables of lint, `| secret` marks.

Imported on first use: it loads Jinja2.
"""

from __future__ import annotations

import functools

from jinja2 import TemplateAssertionError, TemplateSyntaxError, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError

from runner.templating.render_bounds import BoundedSandbox
from runner.templating.template_error import TemplateError


class Analysis:
    """One template's parse tree (or its error) and the names it reads, computed once.

    Lint looks at every template string several times (syntax, undefined and unused
    variables, shell quoting); parsing and compile-checking each time cost most of lint.
    """

    def __init__(self, text: str, expression: bool, checker: BoundedSandbox) -> None:
        source = "{{ " + _strip_braces(text) + " }}" if expression else text
        self._tree: nodes.Template | None = None
        self._error: TemplateError | None = None
        self._used: frozenset[str] | None = None
        self._guarded: frozenset[str] | None = None
        try:
            tree = checker.parse(source)
            # Generating the code finds unknown filters and sandbox refusals; compiling it to
            # bytecode would find nothing more. The same pass records the names the template
            # reads, as `meta.find_undeclared_variables` would in a second one.
            generator = _CheckingGenerator(checker)
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
def analysis(text: str, expression: bool, checker: BoundedSandbox) -> Analysis:
    """The analysis of one template (or expression) in `checker` (the checking Templar's
    sandbox: its filters and globals), computed once for the process."""
    return Analysis(text, expression, checker)


# Filters and tests that make an undefined variable harmless.
_GUARDS = frozenset({"default", "d", "defined", "undefined"})


def marked_secret(tree: nodes.Template) -> set[str]:
    """Names a parsed template passes through the `secret` filter."""
    return {
        name.name
        for node in tree.find_all(nodes.Filter)
        if node.name == "secret" and node.node is not None
        for name in node.node.find_all(nodes.Name)
    }


def _strip_braces(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        return stripped[2:-2]
    return stripped
