"""The filters drill authors use beyond Jinja's own, each bounded and masking-safe."""

from __future__ import annotations

import threading
import time

import pytest

from runner.secrets import MASK, SecretMask
from runner.templating.render_state import RENDER_LIMIT_S
from runner.templating.templar import Templar, TemplateError


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (r"{{ 'v1.2.3' | regex_search('[0-9.]+') }}", "1.2.3"),
        (r"{{ 'v1.2.3' | regex_search('v(\\d+)\\.(\\d+)', '\\1', '\\2') }}", "['1', '2']"),
        (r"{{ 'v1.2' | regex_search('v(?P<major>\\d+)', '\\g<major>') }}", "['1']"),
        (r"{{ 'abc' | regex_search('x') }}", "None"),
        (r"{{ 'ABC' | regex_search('b', ignorecase=true) }}", "B"),
        (r"{{ 'a-b-c' | regex_replace('-', '+') }}", "a+b+c"),
        (r"{{ 'a-b-c' | regex_replace('(\\w)', '<\\1>', count=2) }}", "<a>-<b>-c"),
        (r"{{ 'a1b22' | regex_findall('\\d+') }}", "['1', '22']"),
        ("{{ 'aGk=' | b64decode }}", "hi"),
        ("{{ 'hi' | b64encode }}", "aGk="),
        ("{{ {'b': 1, 'a': [1]} | to_json }}", '{"a": [1], "b": 1}'),
        ("{{ {'a': 1} | to_nice_json }}", '{\n    "a": 1\n}'),
        ("{{ '{\"a\": 1}' | from_json }}", "{'a': 1}"),
        ("{{ {'a': 1} | to_yaml }}", "{a: 1}\n"),
        ("{{ {'a': [1]} | to_nice_yaml }}", "a:\n- 1\n"),
    ],
)
def test_filters(template: str, expected: str) -> None:
    assert Templar().render_text(template, {}) == expected


def test_b64decode_of_something_else_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="not base64"):
        Templar().render_text("{{ 'not base64!' | b64decode }}", {})


def test_a_catastrophic_regex_stops_at_the_render_limit_in_any_thread() -> None:
    # `(a|aa)+$` against 80 a's and a b backtracks about 2**55 times: it never ends by itself.
    # The `regex` module keeps the render's limit by counting the process's CPU time, not the
    # clock: on a busy machine the regex gets the CPU less often and takes longer by the
    # clock. What it promises, and what load cannot change, is how much it computes.
    outcome: list[BaseException | str] = []
    spent: dict[str, float] = {}

    def render() -> None:
        templar = Templar()
        wall, cpu = time.monotonic(), time.thread_time()
        try:
            outcome.append(templar.render_text("{{ s | regex_search('(a|aa)+$') }}", {"s": s}))
        except TemplateError as exc:
            outcome.append(exc)
        finally:
            spent["cpu"], spent["wall"] = time.thread_time() - cpu, time.monotonic() - wall

    s = "a" * 80 + "b"
    worker = threading.Thread(target=render, daemon=True)
    worker.start()
    worker.join(RENDER_LIMIT_S + 10)
    assert not worker.is_alive()
    assert isinstance(outcome[0], TemplateError) and "longer than" in str(outcome[0])
    # Stopped by the limit: not before it by the clock (CPU time never runs ahead of the
    # clock in one busy thread), and having computed no more than the limit, plus a tenth
    # of it for compiling the template and reporting the error (a few ms of it are used).
    assert spent["wall"] >= RENDER_LIMIT_S - 0.1, spent
    assert spent["cpu"] < RENDER_LIMIT_S * 1.1, spent


@pytest.mark.parametrize("name", ["regex_replace('h', 'H')", "b64encode", "to_nice_json"])
def test_what_the_new_filters_make_of_a_secret_is_masked(name: str) -> None:
    templar = Templar(SecretMask(["hunter2-x"]))
    rendered = templar.render_text(f"{{{{ pw | {name} }}}}", {"pw": "hunter2-x"})
    assert rendered and templar.secrets.mask(rendered) == MASK
