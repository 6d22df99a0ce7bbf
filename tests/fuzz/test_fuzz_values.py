"""Fuzzing durations and templates: a value is read or refused with the documented error."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from runner.durations import parse_duration
from runner.templating.templar import Templar, TemplateError
from tests.fuzz.strategies import DURATIONS, expressions, fuzz_settings, templates

VARIABLES: dict[str, Any] = {
    "good": "1",
    "x": 3,
    "url": "http://127.0.0.1:1",
    "host": {"address": "127.0.0.1", "name": "lab1"},
    "groups": {"gateway": ["lab1"]},
    "hostvars": {"lab1": {}},
    "item": [1, 2],
    "seq": 7,
}


@fuzz_settings(300)
@given(value=DURATIONS)
@example(value="1h30m")
@example(value=" 5 m ")
@example(value="1e400")
@example(value="9" * 400)
@example(value=float("nan"))
@example(value=10**300)
@example(value=True)
def test_a_duration_is_seconds_or_a_value_error(value: Any) -> None:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        assert str(exc)
        return
    assert isinstance(seconds, float)
    assert math.isfinite(seconds) and seconds >= 0


@fuzz_settings(250)
@given(text=templates())
@example(text="{{ x.__class__.__mro__ }}")
@example(text="{{ x | combine }}")
@example(text="{% for %}")
@example(text="{{ env('DRILLCTL_NOPE') }}")
def test_a_template_renders_or_raises_template_error(text: str) -> None:
    templar = Templar()
    try:
        rendered = templar.render_text(text, VARIABLES)
    except TemplateError as exc:
        assert str(exc) and exc.lineno >= 1
    else:
        assert isinstance(rendered, str)
    problem = templar.check_syntax(text)
    assert problem is None or isinstance(problem, TemplateError)
    try:
        assert isinstance(templar.variables_required(text), set)
    except TemplateError:
        assert problem is not None


@fuzz_settings(250)
@given(expression=st.one_of(expressions(), st.text(max_size=20), st.booleans()))
@example(expression="")
@example(expression="{{ x }}")
@example(expression="x.__class__")
def test_an_expression_evaluates_or_raises_template_error(expression: str | bool) -> None:
    try:
        Templar().evaluate(expression, VARIABLES)
    except TemplateError as exc:
        assert str(exc)
