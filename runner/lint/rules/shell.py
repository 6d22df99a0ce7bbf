"""Templated values reach `/bin/sh` quoted."""

from __future__ import annotations

import re
from collections.abc import Iterator

from jinja2 import nodes

from runner.errors import Diagnostic
from runner.lint.rules.base import WARNING, LintContext, Rule
from runner.templating.templar import Templar, TemplateError

UNQUOTED = "unquoted-shell-template"

_EXPRESSION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
# Filters whose output is a single shell word whatever the input: quoted, or a number.
SAFE_FILTERS = frozenset({"quote", "int", "float", "length", "count", "abs", "round", "bool"})
_SHELL_WORD = re.compile(r"^[A-Za-z0-9_./:@%+=,-]*$")
# What may stand before a command name: a separator, an opening, or a keyword taking one.
_COMMAND_START = re.compile(
    r"(?:^|[;&|(`]|\b(?:then|do|else|elif|exec|time|if|while|until))\s*"
    r"(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*$"
)
# A heredoc: with its delimiter quoted, the body is data this shell does not expand.
_HEREDOC = re.compile(r"<<-?\s*(?:'(\w+)'|\"(\w+)\"|\\(\w+)|(\w+))[^\n]*\n")


def unquoted_shell_template(ctx: LintContext) -> Iterator[Diagnostic]:
    """A `shell` step puts a templated value into the command without `| quote`.

    A value with a space, a quote, `;` or `$(…)` in it is split into several words, or runs
    as a command of its own. Pipe every templated value through `| quote` (or a filter that
    yields a number: `int`, `float`, `length`). Not flagged: a template in the place of the
    command name (`{{ python }} -c …`, meant to be a command line), and templates in the
    body of a quoted heredoc (`<<'EOF'`), which this shell does not expand. Use `command`
    when no shell features are needed.

        deploy:
          - shell: "./deploy.sh --version={{ version }}"          # unquoted
          - shell: "./deploy.sh --version={{ version | quote }}"  # fine
    """
    for step in ctx.steps:
        if step.action != "shell":
            continue
        args = step.args
        path = (*step.path, "shell")
        if isinstance(args, dict):
            args, path = args.get("cmd"), (*path, "cmd")
        if not isinstance(args, str):
            continue
        unquoted = list(dict.fromkeys(unquoted_expressions(args, ctx.templar)))
        if unquoted:
            yield ctx.diag(
                path,
                f"{', '.join(unquoted)} reach{'es' if len(unquoted) == 1 else ''} the shell "
                "unquoted; "
                "write `{{ value | quote }}`",
            )


def unquoted_expressions(command: str, templar: Templar) -> list[str]:
    """The `{{ … }}` of a shell command that are not quoted, as written."""
    bodies = _heredoc_bodies(command)
    found = []
    for match in _EXPRESSION.finditer(command):
        body = next((b for b in bodies if b[0] <= match.start() < b[1]), None)
        if body is not None and body[2]:
            continue
        line_start = command.rfind("\n", 0, match.start()) + 1
        if body is None and _COMMAND_START.search(command[line_start : match.start()]):
            continue
        try:
            tree = templar.parse(match.group(1), expression=True)
        except TemplateError:
            continue  # the loader reports syntax errors
        outputs = list(tree.find_all(nodes.Output))
        exprs = [n for o in outputs for n in o.nodes if not isinstance(n, nodes.TemplateData)]
        if exprs and not all(_safe(e) for e in exprs):
            found.append(match.group(0))
    return found


def _safe(node: nodes.Node) -> bool:
    if isinstance(node, nodes.Filter):
        return node.name in SAFE_FILTERS
    if isinstance(node, nodes.Const):
        value = node.value
        return isinstance(value, (int, float)) or (
            isinstance(value, str) and bool(_SHELL_WORD.match(value))
        )
    if isinstance(node, nodes.CondExpr):
        return _safe(node.expr1) and (node.expr2 is None or _safe(node.expr2))
    return False


def _heredoc_bodies(command: str) -> list[tuple[int, int, bool]]:
    """(start, end, delimiter quoted) of the bodies of the heredocs in a command."""
    bodies = []
    for match in _HEREDOC.finditer(command):
        word = next(g for g in match.groups() if g)
        end = re.compile(rf"^\s*{re.escape(word)}\s*$", re.MULTILINE).search(command, match.end())
        quoted = match.group(4) is None
        bodies.append((match.end(), end.start() if end else len(command), quoted))
    return bodies


RULES = (
    Rule(
        UNQUOTED,
        WARNING,
        "An unquoted value is split into words or run as a command by the shell.",
        unquoted_shell_template,
    ),
)
