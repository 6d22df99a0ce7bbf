"""`assert` and `pause`: checks on variables, and deliberate waits."""

from __future__ import annotations

from typing import Any

from runner.actions.base import (
    DURATION_SCHEMA,
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
)
from runner.durations import parse_duration
from runner.inventory.model import Host
from runner.playbook.templating import TemplateError


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
            {"type": "string"},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["that"],
                "properties": {
                    "that": {
                        "oneOf": [
                            {"type": "string"},
                            {"type": "array", "items": {"type": "string"}},
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
        that = opts["that"]
        exprs = [that] if isinstance(that, str) else list(that)
        return PlannedAction(self.name, " and ".join(exprs), params={**opts, "that": exprs})

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        for expr in planned.params["that"]:
            try:
                ok = bool(ctx.templar.evaluate(expr, ctx.variables))
            except TemplateError as exc:
                return ActionOutcome(False, f"{expr}: {exc}")
            if not ok:
                default = f"assertion failed: {expr}"
                msg = ctx.templar.render_text(
                    planned.params.get("fail_msg", default), ctx.variables
                )
                return ActionOutcome(False, msg, data={"failed_expression": expr})
        msg = planned.params.get("success_msg", "all assertions passed")
        return ActionOutcome(True, ctx.templar.render_text(msg, ctx.variables))


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
