"""Hypothesis strategies for drill inputs: values, durations, host patterns and templates from
their grammar, and mutations of real files (playbooks: playbook_strategies.py; inventories:
test_fuzz_inventories.py).

`fuzz_settings(n)` bounds each test to `n` examples (the CI budget); set
`DRILLCTL_FUZZ_EXAMPLES` to run every test longer (see docs/fuzzing.md).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from runner.errors import Diagnostic

REPO = Path(__file__).resolve().parents[2]


def fuzz_settings(examples: int) -> settings:
    """`examples` per test in CI, or DRILLCTL_FUZZ_EXAMPLES; a deadline catches slowness."""
    wanted = int(os.environ.get("DRILLCTL_FUZZ_EXAMPLES", "0") or 0)
    return settings(
        max_examples=wanted or examples,
        deadline=timedelta(seconds=3),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


def assert_located(diagnostics: list[Diagnostic]) -> None:
    """The contract for bad input: at least one finding, each at a real line and column."""
    assert diagnostics, "an error without a finding"
    for d in diagnostics:
        assert isinstance(d, Diagnostic), d
        assert d.line >= 1 and d.col >= 1, d
        assert d.path and d.message, d


# -- scalars ------------------------------------------------------------------------------------

NAMES = st.sampled_from(
    ["good", "bad", "url", "lab_port", "host", "item", "x", "db_password", "seq", "result"]
)
DURATIONS = st.one_of(
    st.from_regex(r"\A\s?([0-9]{1,4}(\.[0-9]{1,3})?(ms|s|m|h|d)){1,3}\s?\Z"),
    st.from_regex(r"\A[-+]?[0-9]{0,5}(\.[0-9]{0,3})?\Z"),
    st.text(alphabet="0123456789.msdh -+eE_", max_size=12),
    st.integers(min_value=-(10**6), max_value=10**300),  # BUG 2 past a float
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
_FILTERS = ["quote", "default('d')", "int", "length", "upper", "trim", "to_json", "secret"]
_FILTERS += ["bool", "from_json", "first", "join(',')", "combine", "d", "replace('a', 'b')"]
_ATOMS = [
    "1",
    "0",
    "-3",
    "2.5",
    "'s'",
    '"t"',
    "[1, 2]",
    "{'k': 1}",
    "true",
    "none",
    "host.address",
    "groups['gateway']",
    "hostvars",
    "x.__class__",
    "x.mro()",
    "env('HOME')",
    "env('DRILLCTL_NOPE')",
    "lookup('file', '/etc/passwd')",
]
_OPERATORS = [" + ", " ~ ", " == ", " and ", " or ", " in ", " if x else ", " - ", " // ", " % "]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 2) -> str:
    """A Jinja expression from names, literals, filters and operators (no `**` or ranges:
    those are unbounded by design, see the regression tests)."""
    atom = draw(st.one_of(NAMES, st.sampled_from(_ATOMS)))
    for _ in range(draw(st.integers(0, 2))):
        atom += " | " + draw(st.sampled_from(_FILTERS))
    if depth and draw(st.booleans()):
        atom = f"({atom}{draw(st.sampled_from(_OPERATORS))}{draw(expressions(depth - 1))})"
    if draw(st.integers(0, 5)) == 0:
        atom = "not " + atom
    return atom


@st.composite
def templates(draw: st.DrawFn) -> str:
    """Template text: literal parts, `{{ … }}`, `{% if/for %}`, comments and broken braces."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.integers(0, 7))
        expr = draw(expressions())
        if kind == 0:
            parts.append(draw(st.text(max_size=8)))
        elif kind in (1, 2):
            parts.append("{{ " + expr + " }}")
        elif kind == 3:
            parts.append("{% if " + expr + " %}a{% else %}b{% endif %}")
        elif kind == 4:
            parts.append("{% for i in [1, 2] %}{{ i ~ " + expr + " }}{% endfor %}")
        elif kind == 5:
            parts.append("{# " + draw(st.text(max_size=5)) + " #}")
        else:
            parts.append(draw(st.sampled_from(["{{", "}}", "{%", "%}", "{#", "{{ }}", "{% x %}"])))
    return "".join(parts)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(max_size=12),
    templates(),
    DURATIONS,
)


def values(depth: int = 2) -> st.SearchStrategy[Any]:
    if depth == 0:
        return SCALARS
    return st.one_of(
        SCALARS,
        st.lists(values(depth - 1), max_size=3),
        st.dictionaries(st.one_of(NAMES, st.text(max_size=6)), values(depth - 1), max_size=3),
    )


# -- host patterns --------------------------------------------------------------------------------

_TERMS = ["all", "gateway", "lab1", "web*", "~lab\\d", "~[", "db", "localhost", "127.0.0.1"]
_TERMS += ["::1", "web[01:03]", "*", "", "nope", "gate", "[x", "~.*"]


@st.composite
def host_patterns(draw: st.DrawFn) -> str:
    terms = draw(st.lists(st.one_of(st.sampled_from(_TERMS), st.text(max_size=6)), max_size=4))
    pattern = ""
    for i, term in enumerate(terms):
        sep = draw(st.sampled_from([":", ",", ":&", ":!", "&", "!", " , "])) if i else ""
        pattern += sep + term
    if draw(st.booleans()):
        pattern = draw(st.sampled_from(["", "!", "&", " "])) + pattern
    return pattern


def dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)


# -- mutations of real files --------------------------------------------------------------------

_TOKENS = [
    ": ",
    "- ",
    "{{",
    "}}",
    "{%",
    "&a ",
    "*a",
    "<<: *a",
    "!!python/object:os.system ",
    "\t",
    "'",
    '"',
    "[",
    "]",
    "{",
    "}",
    "\n",
    "~",
    "0x1F",
    ".inf",
    ".nan",
    "yes",
    "? ",
    "|",
    ">",
    "#",
    "\x00",
    "\ufeff",
    "\u2028",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "!",
    "@",
    "`",
    "\\",
    "  ",
    "=",
    "[g:vars]",
    "[g:children]",
    "[g]",
    "h[1:3]",
    "h:22",
    ";",
    "9" * 5000,
    # Inputs of the bad-input contract of the command line (issue 11): names too long for
    # a file name, URLs with credentials or broken ports, environment reads, big values.
    "h" * 300,
    "http://u:p'w/x@127.0.0.1:1/",
    "http://[::1",
    ":99999",
    "{{ env('HOME') }}",
    "{{ env(x) }}",
    "{{ 'x' * 100000000 }}",
    "{{ 7 ** 30000000 }}",
    "{{ range(10) | map('string') | join(',') | b64encode }}",
    "@revoked * ssh-ed25519 AAAA\n",
    "known_hosts: /nonexistent\n",
    "connection: ssh\n",
    "connection: docker\n",
    "\x85",
]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` after a few random edits: tokens inserted, spans deleted, lines repeated."""
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            text = draw(st.sampled_from(_TOKENS))
            continue
        at = draw(st.integers(0, len(text)))
        op = draw(st.integers(0, 3))
        if op == 0:
            text = (
                text[:at]
                + draw(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=3)))
                + text[at:]
            )
        elif op == 1:
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif op == 2:
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            text = "".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
        else:
            text = text[:at] + draw(st.characters()) + text[at + 1 :]
    return text


# -- steering clear of known bugs -----------------------------------------------------------------
# A bug the fuzzers found and that is not fixed yet gets an xfail regression test in
# test_fuzz_regressions.py, and its inputs are filtered out here so the fuzzers keep looking
# for new ones. All eight found so far are fixed, so nothing is filtered today.


def steer(text: str, *, max_digits: int = 300) -> str:
    """`text` without the inputs of known, unfixed bugs (none at present)."""
    return text


def repo_files(pattern: str) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(REPO.glob(pattern))]
