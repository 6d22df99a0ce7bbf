"""Rules about time: the objectives must fit the rollback type's budget, and the triggers and
timeouts must be able to meet the RTO objective."""

from __future__ import annotations

from collections.abc import Iterator

from runner.durations import format_duration
from runner.errors import Diagnostic
from runner.lint.rules.base import ERROR, LintContext, Rule
from runner.measure.budget import detection_worst_case
from runner.playbook.model import BUDGETS_S, Playbook

RTO_BUDGET = "rto-budget"
OVER_BUDGET = "objective-over-budget"


def worst_detection(playbook: Playbook) -> tuple[float, str] | None:
    """The earliest worst case over the probe triggers (the first to fire decides)."""
    probes = list(playbook.probes.values())
    best: tuple[float, str] | None = None
    for rule in playbook.triggers:
        if rule.kind == "step_failed":
            continue
        worst = detection_worst_case(rule, probes)
        if worst is not None and (best is None or worst < best[0]):
            best = (worst, rule.describe())
    return best


def rto_budget(ctx: LintContext) -> Iterator[Diagnostic]:
    """The triggers cannot detect, or the rollback and verify timeouts cannot finish, within
    the RTO objective.

    The worst case adds up the slowest trigger's detection (probe interval, timeouts and the
    failures it needs), a manual decision's timeout, and every `timeout` of the rollback and
    verify steps. Probe more often, need fewer failures, or raise the objective.

        objectives: {rto: 5s}
        probes: {health: {http: {url: …, timeout: 1s}, every: 1s}}
        triggers: [{probe: health, consecutive_failures: 5}]   # detection alone takes 10 s
    """
    playbook = ctx.playbook
    if playbook is None:
        return
    rto = playbook.objectives.rto_s
    detection = worst_detection(playbook)
    if rto is None or detection is None:
        return
    detect_s, trigger = detection
    rollback = sum(s.timeout_s or 0.0 for s in playbook.steps("rollback"))
    verify = sum(s.timeout_s or 0.0 for s in playbook.steps("verify"))
    decision = (playbook.decision.timeout_s or 900.0) if playbook.decision.manual else 0.0
    worst = detect_s + decision + rollback + verify
    if worst <= rto:
        return
    parts = [f"detection up to {detect_s:.1f}s ({trigger})"]
    if decision:
        parts.append(f"manual decision up to {decision:g}s")
    if rollback:
        parts.append(f"rollback timeouts {rollback:g}s")
    if verify:
        parts.append(f"verify timeouts {verify:g}s")
    yield ctx.diag(
        ("objectives", "rto"),
        f"the RTO objective of {rto:g}s cannot be met: {' + '.join(parts)} = {worst:.1f}s, "
        f"over by {worst - rto:.1f}s; probe more often, need fewer failures, "
        "or raise the objective",
    )


def objective_over_budget(ctx: LintContext) -> Iterator[Diagnostic]:
    """The RTO objective allows more than the rollback type's budget.

    Budgets (from the rollback procedures): type 1 60 s, 2 5 min, 3 30 min, 4 2 h; type 5 has
    none. The budget covers the rollback itself, while the RTO runs from the incident's start,
    so the objective may add the worst-case detection of the triggers and a manual decision's
    timeout to the budget, and no more. A drill that meets a longer objective can still fail
    its budget, so one of the two is wrong: lower the objective, or classify the change as
    the type it really is.

        rollback_type: 1          # instantaneous: 60 s
        objectives: {rto: 5m}     # over the type 1 budget
    """
    playbook = ctx.playbook
    if playbook is None:
        return
    rto, budget = playbook.objectives.rto_s, BUDGETS_S.get(playbook.rollback_type)
    if rto is None or budget is None:
        return
    detection = worst_detection(playbook)
    detect_s = detection[0] if detection else 0.0
    decide_s = (playbook.decision.timeout_s or 900.0) if playbook.decision.manual else 0.0
    if rto <= budget + detect_s + decide_s:
        return
    allowance = [f"{detect_s:.1f}s to detect"] if detect_s else []
    allowance += [f"{decide_s:g}s to decide"] if decide_s else []
    plus = f" (plus {' and '.join(allowance)})" if allowance else ""
    yield ctx.diag(
        ("objectives", "rto"),
        f"the RTO objective of {format_duration(rto)} is over the rollback type "
        f"{playbook.rollback_type} budget of {format_duration(budget)}{plus}; lower the "
        "objective or change rollback_type",
    )


RULES = (
    Rule(
        RTO_BUDGET,
        ERROR,
        "An objective the triggers and timeouts cannot meet fails every drill run.",
        rto_budget,
    ),
    Rule(
        OVER_BUDGET,
        ERROR,
        "An objective past the rollback type's budget contradicts the classification.",
        objective_over_budget,
    ),
)
