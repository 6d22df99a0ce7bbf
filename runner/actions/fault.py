"""`fault`: inject one fault per selected host, through the write-ahead fault ledger.

The fault stays in effect until its `duration` elapses, the drill moves on to the
rollback, or the run ends (Ctrl-C and failures included): it is always reverted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.actions.base import (
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
)
from runner.durations import DURATION_SCHEMA, parse_duration
from runner.faults.base import Fault, FaultArgError, FaultContext, FaultUnsupported
from runner.inventory.model import Host

# Arguments every fault takes, beside its kind's own.
COMMON: dict[str, Any] = {
    "kind": {"type": "string", "description": "The fault kind, e.g. process.kill."},
    "duration": {**DURATION_SCHEMA, "description": "Revert automatically after this long."},
    "count": {"type": "integer", "minimum": 1, "description": "Blast radius: this many hosts."},
    "percent": {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 100,
        "description": "Blast radius: this share of the step's hosts (at least one).",
    },
    "random": {"type": "boolean", "description": "Pick the hosts at random (seed recorded)."},
    "seed": {"type": "integer", "description": "Seed for `random`, to repeat a selection."},
}
BLAST_KEYS = ("count", "percent", "random", "seed")


def _registry() -> Mapping[str, Fault]:
    from runner.faults.registry import FAULTS

    return FAULTS


def kind_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments the fault kind itself reads (without kind and blast radius)."""
    return {k: v for k, v in args.items() if k not in ("kind", *BLAST_KEYS)}


class FaultAction(Action):
    name = "fault"
    description = "Inject a fault; it is reverted after `duration`, before rollback, or at the end."

    @property
    def schema(self) -> dict[str, Any]:  # type: ignore[override]
        faults = _registry()
        branches = [
            {
                "if": {"properties": {"kind": {"const": kind}}},
                "then": {
                    "properties": {**COMMON, **fault.schema.get("properties", {})},
                    "required": ["kind", *fault.schema.get("required", [])],
                    "additionalProperties": False,
                },
            }
            for kind, fault in faults.items()
        ]
        return {
            "description": self.description,
            "type": "object",
            "required": ["kind"],
            "properties": {
                "kind": {"enum": sorted(faults), "description": COMMON["kind"]["description"]}
            },
            "allOf": branches,
            "examples": [{"kind": "process.pause", "pattern": "order-gateway", "duration": "30s"}],
        }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        if not isinstance(args, dict) or "kind" not in args:
            raise ActionArgError("fault needs a `kind`")
        fault = _registry().get(str(args["kind"]))
        if fault is None:
            raise ActionArgError(f"unknown fault kind {args['kind']!r}")
        try:
            preview = fault.plan(kind_args(args), host, FaultContext("plan", run_dir=""))
        except FaultArgError as exc:
            raise ActionArgError(str(exc)) from None
        if "duration" in args:
            try:
                parse_duration(args["duration"])
            except ValueError as exc:
                raise ActionArgError(str(exc)) from None
        revert = "; ".join(op.display() for op in preview.revert)
        summary = f"{preview.summary} (revert: {revert})" if revert else preview.summary
        return PlannedAction(self.name, summary, params=dict(args))

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        from runner.faults.ledger import FaultInjectError

        if ctx.injector is None:
            return ActionOutcome(False, "faults can only be injected by a drill run")
        args = planned.params
        fault = _registry()[str(args["kind"])]
        fault_id = ctx.injector.next_id()
        try:
            plan = fault.plan(
                kind_args(args),
                ctx.host,
                FaultContext(fault_id, str(ctx.variables.get("run_dir", ""))),
            )
        except FaultArgError as exc:
            return ActionOutcome(False, str(exc))
        if "duration" in args:
            plan = _with_duration(plan, parse_duration(args["duration"]))
        try:
            ctx.injector.inject(plan, fault_id)
        except FaultUnsupported as exc:
            return ActionOutcome(False, str(exc), data={"environment_error": True})
        except FaultInjectError as exc:
            return ActionOutcome(False, f"{exc} (reverted)")
        return ActionOutcome(True, f"injected {plan.summary}", data={"fault_id": fault_id})


def _with_duration(plan: Any, seconds: float) -> Any:
    from dataclasses import replace

    return replace(plan, duration_s=seconds)
