"""`assert` and `pause`: checks on variables, and deliberate waits."""

from __future__ import annotations

from typing import Any

from runner.actions.base import (
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
)
from runner.durations import DURATION_SCHEMA, parse_duration
from runner.inventory.model import Host
from runner.templating.templar import TemplateError


class AssertAction(Action):
    name = "assert"
    shorthand_key = "that"
    description = (
        "Check expressions over variables (registered results, facts); fail if any is false."
    )
    expression_keys = frozenset({"that"})
    controller_side = True
    schema = {
        "description": description,
        "oneOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["that"],
                "properties": {
                    "that": {
                        "oneOf": [
                            {"type": "string", "minLength": 1},
                            {
                                "type": "array",
                                "items": {"type": "string", "minLength": 1},
                                "minItems": 1,
                            },
                        ],
                        "description": "Jinja expression(s) that must all be true.",
                    },
                    "fail_msg": {"type": "string"},
                    "success_msg": {"type": "string"},
                },
            },
        ],
        "examples": [
            {"that": ["health.json.version == good"], "fail_msg": "still on the bad build"}
        ],
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        opts: dict[str, Any] = {"that": args} if isinstance(args, str) else dict(args)
        that = opts.get("that")
        exprs = [that] if isinstance(that, str) else list(that or [])
        # Nothing to check would pass vacuously: an assert must assert something.
        if not exprs or not all(isinstance(e, str) and e.strip() for e in exprs):
            raise ActionArgError("assert needs at least one non-empty expression in `that`")
        return PlannedAction(self.name, " and ".join(exprs), params={**opts, "that": exprs})

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        for expr in planned.params["that"]:
            try:
                ok = bool(ctx.templar.evaluate(expr, ctx.variables))
            except TemplateError as exc:
                return ActionOutcome(False, f"{expr}: {exc}")
            if not ok:
                default = f"assertion failed: {expr}"
                msg = _message(ctx, planned.params.get("fail_msg"), default)
                return ActionOutcome(False, msg, data={"failed_expression": expr})
        done = _message(ctx, planned.params.get("success_msg"), "all assertions passed")
        return ActionOutcome(True, done)


def _message(ctx: ActionContext, template: str | None, default: str) -> str:
    """The rendered message; a message that cannot render says so instead of raising."""
    if template is None:
        return default
    try:
        return ctx.templar.render_text(template, ctx.variables)
    except TemplateError as exc:
        return f"{default} (message not rendered: {exc})"


class PauseAction(Action):
    name = "pause"
    shorthand_key = "duration"
    description = "Wait for a fixed time (an interrupt ends the wait at once)."
    controller_side = True
    schema = {
        "description": description,
        "oneOf": [
            DURATION_SCHEMA,
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["duration"],
                "properties": {"duration": DURATION_SCHEMA, "reason": {"type": "string"}},
            },
        ],
        "examples": ["5s", {"duration": "30s", "reason": "let caches warm"}],
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        raw = args["duration"] if isinstance(args, dict) else args
        try:
            seconds = parse_duration(raw)
        except ValueError as exc:
            raise ActionArgError(str(exc)) from None
        return PlannedAction(self.name, f"{seconds:g}s", params={"seconds": seconds})

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        if ctx.cancel.wait(planned.params["seconds"]):
            return ActionOutcome(False, "interrupted", cancelled=True)
        return ActionOutcome(True, f"paused {planned.params['seconds']:g}s")
