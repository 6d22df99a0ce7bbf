"""`--start-at-task NAME`: begin the change at a named step, as ansible-playbook does.

Only the phases a drill author would resume (`prepare`, `deploy`, `inject`) are cut: the
steps before the named one are skipped (and journaled as such). `rollback`, `verify` and
`cleanup` always run whole, because a drill must still prove its rollback.
"""

from __future__ import annotations

import difflib

from runner.errors import InputError
from runner.playbook.model import Playbook, Step

# The phases --start-at-task may cut, in the order they run.
STARTABLE_PHASES = ("prepare", "deploy", "inject")


def start_at_task(
    playbook: Playbook, steps: dict[str, list[Step]], name: str | None
) -> tuple[dict[str, list[Step]], tuple[str, ...]]:
    """The steps left after skipping everything before the first step called `name`, and the
    labels of the skipped ones; an unknown name is bad input naming the close matches."""
    if name is None:  # an empty name is a mistake (an unset variable), not "from the start"
        return steps, ()
    order = [s for p in STARTABLE_PHASES for s in playbook.steps(p)]
    start = next((i for i, s in enumerate(order) if s.name == name), None)
    if start is None:
        _unknown(playbook, name, [s.name for s in order])
    skipped = {id(s) for s in order[:start]}
    kept = {p: [s for s in steps[p] if id(s) not in skipped] for p in steps}
    selected = {id(s) for p in steps for s in steps[p]}
    labels = tuple(s.label for s in order[:start] if id(s) in selected)
    return kept, labels


def _unknown(playbook: Playbook, name: str, names: list[str]) -> None:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = (
        f"did you mean {', '.join(repr(c) for c in close)}?"
        if close
        else f"steps that can start a run: {', '.join(repr(n) for n in names) or 'none'}"
    )
    raise InputError.at(
        "<command line>",
        1,
        1,
        f"--start-at-task {name!r}: no step of prepare, deploy or inject in {playbook.path} "
        f"has this name; {hint}",
    )
