"""Bounds on rendering a template: time, size, and a way to stop it, in any thread.

Templates render on the main thread (preflight), in fan-out workers and in probe threads.
A signal-based alarm works on the main thread only, so the bound is kept by the sandbox
itself: every call, attribute lookup, operator, filter, loop iteration and output chunk of a
template checks the render's deadline and its cancel token, and the operations that can make
a huge value in one step (`'x' * n`, `'%9999999d'`, `center(n)`, `l.extend(l)`) are refused
above a size limit before they run.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

from runner.templating.render_state import (
    ITERATION_FILTER,
    MAX_EXPONENT_BITS,
    MAX_OUTPUT_CHARS,
    SLICE_FILTER,
    RenderTooLarge,
    check,
)


def too_large(what: str, size: int, *, at_least: bool = False) -> SecurityError:
    """The refusal of a value over the limit; `at_least` when `size` is only how far it
    was counted before the limit was passed."""
    amount = f"at least {size}" if at_least else str(size)
    return SecurityError(
        f"{what} would make {amount} characters or items; a template may make {MAX_OUTPUT_CHARS}"
    )


def _size(value: Any) -> int:
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return len(value)
    return 0


def check_arguments(args: Iterable[Any], what: str, *, sizes: bool = True) -> None:
    """Refuse arguments that are already too large, or (`sizes`) ints that would size a
    huge value (a width, a count)."""
    for arg in args:
        if (
            sizes
            and isinstance(arg, int)
            and not isinstance(arg, bool)
            and abs(arg) > MAX_OUTPUT_CHARS
        ):
            raise too_large(what, abs(arg))
        size = _size(arg)
        if size > MAX_OUTPUT_CHARS:
            raise too_large(what, size)


# `%` conversions and `{}` format specs whose width or precision would pad a huge string.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_NUMBERS = re.compile(r"\d+")


def check_percent_format(fmt: str, values: Any) -> None:
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for number in (width, precision):
            if number.isdigit() and int(number) > MAX_OUTPUT_CHARS:
                raise too_large("this % format", int(number))
        if "*" in (width, precision):
            check_arguments(values if isinstance(values, tuple) else (values,), "this % format")


def check_brace_format(fmt: str) -> None:
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format reports the error itself
    for _, _, spec, _ in parsed:
        for number in _FORMAT_NUMBERS.findall(spec or ""):
            if len(number) > 9 or int(number) > MAX_OUTPUT_CHARS:
                raise too_large("this format spec", int(number[:18]))


def bounded_iteration(iterable: Any) -> Iterator[Any]:
    """A loop's items, checking the deadline at each (nested loops compute for ever)."""
    for item in iterable:
        check()
        yield item


class BoundedNamespace(Namespace):
    """`namespace()`, refusing values that grow past the limit (`ns.s = ns.s ~ ns.s`)."""

    def __setitem__(self, name: str, value: Any) -> None:
        check()
        if _size(value) > MAX_OUTPUT_CHARS:
            raise too_large(f"namespace attribute {name!r}", _size(value))
        super().__setitem__(name, value)


class _SlicesAsFilters(NodeTransformer):
    """`x[a:b:c]` as the filter `SLICE_FILTER(a, b, c)`: Jinja compiles slices to plain
    Python subscripts that bypass the sandbox's hooks, and a slice of a secret is one."""

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        visited = self.generic_visit(node)
        if not (isinstance(visited, nodes.Getitem) and isinstance(visited.arg, nodes.Slice)):
            return visited
        part = visited.arg
        bounds: list[nodes.Expr] = [
            bound if bound is not None else nodes.Const(None)
            for bound in (part.start, part.stop, part.step)
        ]
        replaced = nodes.Filter(visited.node, SLICE_FILTER, bounds, [], None, None)
        replaced.set_lineno(visited.lineno)
        return replaced


def slice_of(value: Any, start: Any, stop: Any, step: Any) -> Any:
    """The filter a template's `value[start:stop:step]` becomes."""
    return value[start:stop:step]


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox, with the render's deadline, cancel token and size limit in every hook."""

    # Intercepting also keeps the compiler from folding them into constants.
    intercepted_binops = frozenset({"**", "*", "%"})
    # Told of each string a template makes from another string by a method (the Templar
    # registers what it makes of a secret as a secret; slices are filters, see above).
    derived: Callable[[str, Any], None] | None = None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        # A loop needs the word `for`, a slice both `[` and `:`: most templates have
        # neither, and walking their trees for them again cost template checks a share.
        if "for" in source:
            for loop in tree.find_all(nodes.For):
                loop.iter = nodes.Filter(loop.iter, ITERATION_FILTER, [], [], None, None)
                loop.iter.set_lineno(loop.lineno)
        if "[" not in source or ":" not in source:
            return tree
        result = _SlicesAsFilters().visit(tree)
        assert isinstance(result, nodes.Template)
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        check()
        if operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and abs(left) > 1
                and right * abs(left).bit_length() > MAX_EXPONENT_BITS
            ):
                raise SecurityError(f"{left} ** {right} is too large to compute in a template")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if _size(seq) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT_CHARS:
                    raise too_large("this repetition", len(seq) * times)
        elif operator == "%" and isinstance(left, str):
            check_percent_format(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check()
        owner = getattr(__obj, "__self__", None)
        # Methods of strings and lists take widths and counts (`ljust`, `zfill`, `expandtabs`).
        sizes = isinstance(owner, (str, bytes, list))
        check_arguments((*args, *kwargs.values()), "this call", sizes=sizes)
        if isinstance(owner, (str, bytes)) and getattr(__obj, "__name__", "") == "replace":
            new = args[1] if len(args) > 1 else ""
            if _size(new) * (len(owner) + 1) > MAX_OUTPUT_CHARS:
                raise too_large("this replace", _size(new) * (len(owner) + 1))
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(owner, str) and __self.derived is not None:
            __self.derived(owner, result)  # `pw.upper()`, `pw.replace("'", "")`
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        check()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        check()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Any:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            check_brace_format(owner)
        return super().wrap_str_format(value)


def render_bounded(chunks: Iterable[str]) -> str:
    """Join a template's output chunks, checking the deadline and the size as they come."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        check()
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise RenderTooLarge()
        out.append(chunk)
    return "".join(out)
