"""Templates are bounded in every thread (time and size) and can be cancelled from another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runner.connections.base import CancelToken
from runner.templating.render_state import MAX_OUTPUT_CHARS, RENDER_LIMIT_S, cancelled_by
from runner.templating.templar import RenderInterrupted, Templar, TemplateError

NESTED_LOOPS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
# Slack for a loaded CI machine: the bound is checked between operations, not to the ms.
GRACE_S = 1.5


def in_worker(fn: Callable[[], Any], join_s: float = RENDER_LIMIT_S + 10) -> tuple[Any, float]:
    """Run `fn` in a fresh thread (as fan-out workers and probes do): its result or exception,
    and how long it took."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:  # the test inspects whatever it was
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(join_s)
    assert not worker.is_alive(), "the render was not bounded in a worker thread"
    return outcome[0], time.monotonic() - started


def test_nested_loops_in_a_worker_thread_stop_at_the_time_limit() -> None:
    templar = Templar()
    outcome, took = in_worker(lambda: templar.render_text(NESTED_LOOPS, {}))
    assert isinstance(outcome, TemplateError)
    assert "longer than" in str(outcome)
    assert RENDER_LIMIT_S - 0.1 <= took < RENDER_LIMIT_S + GRACE_S


def test_exponential_macro_recursion_in_a_worker_thread_stops_at_the_time_limit() -> None:
    text = "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}"
    outcome, took = in_worker(lambda: Templar().render_text(text, {}))
    assert isinstance(outcome, TemplateError) and "longer than" in str(outcome)
    assert took < RENDER_LIMIT_S + GRACE_S


def test_an_expression_in_a_worker_thread_is_bounded_too() -> None:
    expression = "range(100000)" + " | map('string')" * 40 + " | list | length > 0"
    outcome, took = in_worker(lambda: Templar().evaluate(expression, {}))
    assert isinstance(outcome, TemplateError), outcome
    assert took < RENDER_LIMIT_S + GRACE_S


def test_output_larger_than_the_limit_is_refused_in_a_worker_thread() -> None:
    text = "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"
    outcome, _ = in_worker(lambda: Templar().render_text(text, {}))
    assert isinstance(outcome, TemplateError)
    assert str(MAX_OUTPUT_CHARS) in str(outcome)


def test_output_just_under_the_limit_renders() -> None:
    text = "{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}"
    assert len(Templar().render_text(text, {})) == 1_000_000


def test_cancel_stops_a_render_in_another_thread_at_once() -> None:
    templar = Templar()
    timer = threading.Timer(0.3, templar.cancel)
    timer.start()
    try:
        outcome, took = in_worker(lambda: templar.render_text(NESTED_LOOPS, {}))
    finally:
        timer.cancel()
    assert isinstance(outcome, RenderInterrupted)
    assert 0.25 <= took < 0.3 + 0.7  # well before the time limit


def test_a_cancelled_templar_renders_nothing_more() -> None:
    templar = Templar()
    assert templar.render_text("{{ 1 + 1 }}", {}) == "2"
    templar.cancel()
    with pytest.raises(RenderInterrupted):
        templar.render_text("{{ 1 + 1 }}", {})


@pytest.mark.parametrize(
    "text",
    [
        "{{ 'x' * 100000000 }}",
        "{{ 100000000 * 'x' }}",
        "{{ [1] * 100000000 }}",
        "{{ 7 ** 30000000 }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '%*d' % (999999999, 1) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ 'x'.ljust(999999999) }}",
        "{{ 'x'.zfill(999999999) }}",
        "{{ 'x' | center(999999999) }}",
        "{{ '%999999999s' | format('x') }}",
        "{{ ('x' * 3000000).replace('', 'yy') }}",
        "{{ range(100000) | map('string') | join('x' * 3000000) | length }}",
        "{% set ns = namespace(s='xx') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
        "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
        "{{ f('x', 60) }}",
        "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}{% endfor %}",
    ],
)
def test_values_too_large_to_build_are_refused_before_they_are_built(text: str) -> None:
    # CPU time of this thread, not wall time: the machine's load must not decide the test,
    # while building the value (gigabytes) would take this thread many seconds.
    started = time.thread_time()
    with pytest.raises(TemplateError, match=str(MAX_OUTPUT_CHARS) + "|too large"):
        Templar().render_text(text, {})
    assert time.thread_time() - started < 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ '%5d' % 42 }}", "   42"),
        ("{{ '{:>4}'.format(7) }}", "   7"),
        ("{{ 'x' | center(5) }}", "  x  "),
        ("{{ [1, 2] | join(',') }}", "1,2"),
        (
            "{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}"
            "{% endfor %}{{ ns.n }}",
            "3",
        ),
        ("{{ 2 ** 10 }}", "1024"),
    ],
)
def test_ordinary_templates_render_as_before(text: str, expected: str) -> None:
    assert Templar().render_text(text, {}) == expected


def test_a_join_at_the_limit_renders_and_one_past_it_is_refused_as_a_lower_bound() -> None:
    def joined(second: int) -> str:
        half = MAX_OUTPUT_CHARS // 2
        return "{{ ['x' * " + str(half) + ", 'y' * " + str(second) + "] | join(',') | length }}"

    rest = MAX_OUTPUT_CHARS - MAX_OUTPUT_CHARS // 2 - 1  # what fits beside the glue
    assert Templar().render_text(joined(rest), {}) == str(MAX_OUTPUT_CHARS)
    with pytest.raises(TemplateError) as refused:
        Templar().render_text(joined(rest + 1), {})
    assert f"would make at least {MAX_OUTPUT_CHARS + 1} characters" in str(refused.value)


def test_a_join_is_refused_at_the_item_that_passes_the_limit_not_after_listing_all() -> None:
    pulled = 0

    def items() -> Iterator[str]:
        nonlocal pulled
        for n in range(100_000):
            pulled += 1
            yield str(n)

    with pytest.raises(TemplateError, match="at least"):
        Templar().render_text("{{ items | join('x' * 3000000) }}", {"items": items()})
    assert pulled == 3  # 1 + 3,000,001 + 3,000,001 characters: the third item passes 4,000,000


def test_a_watched_cancel_token_stops_a_render_in_flight_and_reset_lets_renders_run() -> None:
    templar, token = Templar(), CancelToken()

    def render(text: str) -> str:
        with cancelled_by(token):
            return templar.render_text(text, {})

    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    try:
        outcome, took = in_worker(lambda: render(NESTED_LOOPS))
    finally:
        timer.cancel()
    assert isinstance(outcome, RenderInterrupted) and took < 1.0
    token.reset()  # as before the rollback: its templates render again
    assert in_worker(lambda: render("{{ 6 * 7 }}"))[0] == "42"
    # A thread that does not watch the token (a probe) is not stopped by it.
    token.cancel()
    assert in_worker(lambda: templar.render_text("{{ 6 * 7 }}", {}))[0] == "42"
