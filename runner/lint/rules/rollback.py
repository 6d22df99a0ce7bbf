"""Rules about the way back: every change has a rollback, checked by verify; a point of no
return has none."""

from __future__ import annotations

from collections.abc import Iterator

from runner.errors import Diagnostic
from runner.lint.rules.base import ERROR, WARNING, LintContext, Rule

DEPLOY_WITHOUT_ROLLBACK = "deploy-without-rollback"
ROLLBACK_WITHOUT_VERIFY = "rollback-without-verify"
IRREVERSIBLE = "irreversible-with-rollback"

# Actions that only look: they change nothing a rollback would have to undo.
CHECK_ACTIONS = frozenset({"http", "wait_for", "assert", "pause"})
# Actions whose effect drillctl cannot see: a deploy script or a smoke test alike. With
# `rollback: auto` they are taken to be checks (a deploy step that changes something should
# use a reversible action, or the playbook should write its rollback out).
OPAQUE_ACTIONS = frozenset({"command", "shell"})
# Faults are reverted whatever the rollback says.
REVERTED_ANYWAY = frozenset({"fault"})
IRREVERSIBLE_TYPE = 5


def deploy_without_rollback(ctx: LintContext) -> Iterator[Diagnostic]:
    """A change (`deploy` steps) with no way back.

    A non-empty `deploy` needs `rollback` steps, or `rollback: auto`. `auto` restores only
    what reversible actions recorded (`release`, `config`, `migrate`, `flag`, `flag.file`,
    `pip`, `docker.container`), so with `auto` a deploy step whose action changes something
    without recording an undo (`docker.image` building or tagging) is reported. Steps that
    only check (`http`, `wait_for`, `assert`, `pause`) are fine, faults are reverted anyway,
    and `command`/`shell` steps are taken to be checks: put a change in a reversible action,
    or write the rollback out. Rollback type 5 is left to `irreversible-with-rollback`.

        deploy:
          - shell: ./deploy.sh 3.2.0
        # no rollback: the drill cannot prove the change can be undone
    """
    data = ctx.data
    deploy = ctx.phase_steps("deploy")
    if not deploy or data.get("rollback_type") == IRREVERSIBLE_TYPE:
        return
    rollback = data.get("rollback")
    if rollback == "auto":
        yield from _auto_gaps(ctx)
        return
    if not ctx.phase_steps("rollback"):
        yield ctx.diag(
            ("deploy",),
            f"{len(deploy)} deploy step{'s' if len(deploy) != 1 else ''} but no rollback: "
            "write the `rollback` steps, or `rollback: auto` with reversible actions",
            at_key=True,
        )


def _auto_gaps(ctx: LintContext) -> Iterator[Diagnostic]:
    from runner.actions import ACTIONS

    for step in ctx.phase_steps("deploy"):
        action = step.action
        if action is None or action in CHECK_ACTIONS | OPAQUE_ACTIONS | REVERTED_ANYWAY:
            continue
        args = step.args
        if action == "docker.image" and not (
            isinstance(args, dict) and ("build" in args or "source" in args)
        ):
            continue  # a lookup changes nothing
        if not ACTIONS[action].reversible:
            yield ctx.diag(
                (*step.path, action),
                f"`{action}` records no undo, so `rollback: auto` will not restore what it "
                "changes; write the `rollback` steps instead",
                at_key=True,
            )


def rollback_without_verify(ctx: LintContext) -> Iterator[Diagnostic]:
    """A rollback (`rollback` steps, `rollback: auto`, or faults to revert) that no `verify`
    step checks.

    A run whose rollback no verify step checked fails ("rolled back, but nothing verified
    it"), unless every availability probe saw the service healthy after the rollback ended:
    the probes are then the only proof. Write verify steps that check what the rollback
    restored (version, health, data). Rollback type 5 is left to `irreversible-with-rollback`.

        rollback:
          - shell: ./deploy.sh --previous
        # no verify: nothing proves the previous release is back
    """
    data = ctx.data
    if data.get("rollback_type") == IRREVERSIBLE_TYPE or ctx.phase_steps("verify"):
        return
    faults = [s for s in ctx.phase_steps("inject") if s.action in REVERTED_ANYWAY]
    if data.get("rollback") == "auto" or ctx.phase_steps("rollback"):
        where: tuple[str, ...] = ("rollback",)
    elif faults:
        where = ("inject",)
    else:
        return
    yield ctx.diag(
        where,
        "no verify step checks the rollback: the drill passes only if every availability "
        "probe sees the service healthy after it; add `verify` steps",
        at_key=True,
    )


def irreversible_with_rollback(ctx: LintContext) -> Iterator[Diagnostic]:
    """A rollback type 5 (point of no return) drill that pretends to roll back, or does not
    prove its fix forward.

    Type 5 changes cannot be undone: no rollback runs, so the playbook must have no
    `rollback` (neither steps nor `auto`), and it must have `verify` steps that prove the
    fix-forward plan works.

        rollback_type: 5
        rollback: [{shell: ./undo.sh}]   # never runs for type 5
    """
    data = ctx.data
    if data.get("rollback_type") != IRREVERSIBLE_TYPE:
        return
    rollback = data.get("rollback")
    if rollback == "auto" or ctx.phase_steps("rollback"):
        yield ctx.diag(
            ("rollback",),
            "rollback_type 5 is a point of no return: no rollback runs; remove `rollback` "
            "and prove the fix forward in `verify`",
            at_key=True,
        )
    if not ctx.phase_steps("verify"):
        yield ctx.diag(
            ("rollback_type",),
            "rollback_type 5 has no rollback, so `verify` must prove the fix forward; "
            "add verify steps",
            at_key=True,
        )


RULES = (
    Rule(
        DEPLOY_WITHOUT_ROLLBACK,
        ERROR,
        "Every deployment must have a tested rollback; a drill without one proves nothing.",
        deploy_without_rollback,
    ),
    Rule(
        ROLLBACK_WITHOUT_VERIFY,
        WARNING,
        "A rollback nothing verified proves nothing; verify steps check what it restored.",
        rollback_without_verify,
    ),
    Rule(
        IRREVERSIBLE,
        ERROR,
        "A point-of-no-return change has no rollback; its drill must prove the fix forward.",
        irreversible_with_rollback,
    ),
)
