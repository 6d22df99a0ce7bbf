"""The bounds of the renders of each thread: their deadline and the tokens that cancel
them, kept without Jinja2, so that code which only marks a thread's renders (a step's
worker) does not load the template engine.

`runner.templating.render_bounds` keeps the bounds inside a render.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

# A template that computes for longer than this is refused (rendering is text, not work).
RENDER_LIMIT_S = 2.0
# The most characters a template may produce, or build in one value.
MAX_OUTPUT_CHARS = 4_000_000
MAX_EXPONENT_BITS = 10_000
# The filter every `{% for %}` loop's iterable goes through (see `_BoundedSandbox._parse`).
ITERATION_FILTER = "_drillctl_bounded_iter"
SLICE_FILTER = "_drillctl_slice"


class RenderTooSlow(Exception):
    """The render passed its deadline."""


class RenderCancelled(Exception):
    """The render was cancelled (Ctrl-C, halt) from another thread."""


class RenderTooLarge(Exception):
    """The render would produce, or build, more than `MAX_OUTPUT_CHARS`."""


class Cancellable(Protocol):
    """What can stop a render from another thread (a CancelToken, say)."""

    @property
    def cancelled(self) -> bool: ...


@dataclass(frozen=True)
class _Budget:
    deadline: float
    cancel: threading.Event
    watched: tuple[Cancellable, ...]


_state = threading.local()


@contextmanager
def cancelled_by(token: Cancellable) -> Iterator[None]:
    """Renders of this thread inside the block stop as soon as `token` is cancelled.

    A step's worker thread watches the drill's interrupt token, so Ctrl-C stops a template
    in flight; renders after the token is reset (the rollback's) run again.
    """
    watched: tuple[Cancellable, ...] = getattr(_state, "watched", ())
    _state.watched = (*watched, token)
    try:
        yield
    finally:
        _state.watched = watched


@contextmanager
def bounded(cancel: threading.Event, seconds: float = RENDER_LIMIT_S) -> Iterator[None]:
    """Bound the renders of this thread inside the block (an outer bound stays in force)."""
    if getattr(_state, "budget", None) is not None:
        yield
        return
    _state.budget = _Budget(time.monotonic() + seconds, cancel, getattr(_state, "watched", ()))
    try:
        yield
    finally:
        _state.budget = None


def check() -> None:
    """Raise if the current render is cancelled or past its deadline (cheap; called often)."""
    budget: _Budget | None = getattr(_state, "budget", None)
    if budget is None:
        return
    if budget.cancel.is_set() or any(token.cancelled for token in budget.watched):
        raise RenderCancelled()
    if time.monotonic() > budget.deadline:
        raise RenderTooSlow()


def remaining_s() -> float:
    """Seconds left to the current render's deadline (the whole limit outside a render), for
    work that cannot check the deadline itself, such as a regular expression."""
    budget: _Budget | None = getattr(_state, "budget", None)
    if budget is None:
        return RENDER_LIMIT_S
    return max(0.001, budget.deadline - time.monotonic())
