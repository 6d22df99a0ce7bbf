"""The drill's messages to its stakeholders (`notify:`), sent from the drill's own hooks,
and the communication plan a run uses (the playbook's, else the inventory's).

Start, rollback start (with what triggered it and when it should be done: now plus the
rollback type's budget), one progress message per finished rollback step ("step X of Y"),
and completion or failure with the figures. Delivery never holds the drill up: see
runner/notify/dispatch.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from runner.durations import format_duration
from runner.engine.drill import DrillHooks, DrillRun
from runner.engine.outcome import PASSED, DrillOutcome
from runner.engine.plan import DrillPlan
from runner.errors import InputError, TargetEnvironmentError
from runner.inventory import Inventory
from runner.journal import Journal
from runner.journal_events import Event
from runner.notify.dispatch import Notifier
from runner.notify.messages import figures_line
from runner.notify.plan import NotifyPlan
from runner.playbook.model import Playbook
from runner.templating.templar import Templar, TemplateError


def _clock(seconds_from_now: float | None = None) -> str:
    now = datetime.now(timezone.utc)
    if seconds_from_now is not None:
        now += timedelta(seconds=seconds_from_now)
    return now.strftime("%H:%M:%S UTC")


class DrillNotices:
    """Turns the drill's hooks into the communication plan's messages."""

    def __init__(
        self,
        plan: DrillPlan,
        notify: NotifyPlan,
        templar: Templar,
        journal: Journal,
        environment: str,
        change_id: str,
    ) -> None:
        pb = plan.playbook
        budget = pb.budget_s
        base = {
            "drill": pb.drill,
            "component": pb.component or pb.drill,
            "environment": environment or "unknown",
            "rollback_type": pb.rollback_type,
            "budget": format_duration(budget) if budget else "none (fix forward only)",
            "change_line": f" Change {change_id}." if change_id else "",
        }
        self.budget_s = budget
        self.rollback_steps = len(plan.steps.get("rollback", ()))
        self.done = 0
        # The rollback's expected completion, fixed when it starts: every update repeats it.
        self.eta = "unknown"

        def record(kind: Event, fields: dict[str, Any]) -> None:
            journal.record(kind, **fields)

        self.notifier = Notifier(notify, base, templar, templar.secrets, record)
        self.reason: Callable[[], str] = lambda: "unknown"

    def wrap(self, hooks: DrillHooks) -> DrillHooks:
        """`hooks` that also send the messages (the terminal keeps getting everything)."""

        def phase_started(phase: str) -> None:
            hooks.phase_started(phase)
            if phase == "rollback":
                self.eta = _clock(self.budget_s) if self.budget_s else "unknown"
                self.notifier.event("rollback", reason=self.reason(), eta=self.eta, now=_clock())

        def step_finished(phase: str, step: Any, result: Any) -> None:
            hooks.step_finished(phase, step, result)
            if phase == "rollback":
                self.done += 1
                self.notifier.event(
                    "progress",
                    step_number=self.done,
                    step_count=self.rollback_steps or "?",
                    step_name=getattr(step, "name", ""),
                    step_status="failed" if getattr(result, "failed", False) else "ok",
                    eta=self.eta,
                    now=_clock(),
                )

        return replace(hooks, phase_started=phase_started, step_finished=step_finished)

    def started(self) -> None:
        self.notifier.event("start", now=_clock())

    def finished(self, outcome: DrillOutcome, measured: dict[str, Any]) -> None:
        """The last message, then wait (bounded) for every delivery to be journaled."""
        event = "complete" if outcome.status == PASSED else "failure"
        self.notifier.event(
            event,
            status=outcome.status.upper(),
            reason=outcome.reason,
            figures=figures_line(measured),
            now=_clock(),
        )
        self.notifier.close()


def _inventory_notify(inventory: Inventory) -> NotifyPlan | None:
    """`notify` in group `all`'s variables, checked like the playbook's."""
    import jsonschema

    from runner.notify.plan import SCHEMA, NotifyPlanError, parse_notify

    group = inventory.groups.get("all")
    data = group.vars.get("notify") if group is not None else None
    if data is None:
        return None
    where = inventory.path.split(",")[0]
    try:
        jsonschema.validate(data, SCHEMA)
        return parse_notify(data)
    except jsonschema.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path)
        raise InputError.at(
            where, 1, 1, f"all.vars.notify{'.' + path if path else ''}: {exc.message}"
        ) from None
    except NotifyPlanError as exc:
        path = ".".join(str(p) for p in exc.path)
        raise InputError.at(where, 1, 1, f"all.vars.{path}: {exc}") from None


def trigger_text(drill: DrillRun) -> str:
    trigger = drill.state.trigger
    if trigger is None or trigger.kind == "rehearsal":
        # Nothing went wrong: the playbook rolls back on purpose (rollback_when: always).
        return "the drill's planned rollback rehearsal"
    return trigger.detail or trigger.kind


def rendered_notify(
    playbook: Playbook, inventory: Inventory, templar: Templar, extra: dict[str, Any]
) -> NotifyPlan | None:
    """The playbook's `notify:` (else the inventory's: a `notify` mapping in group `all`'s
    variables, so one communication plan serves every drill on that estate) with its channel
    URLs rendered once (playbook and extra vars; secrets in them masked). apprise is checked
    here, so a drill that cannot notify stops before it touches a target."""
    import importlib.util

    notify = playbook.notify or _inventory_notify(inventory)
    if notify is None:
        return None
    if importlib.util.find_spec("apprise") is None:
        raise TargetEnvironmentError(
            "notify: needs the apprise package: pip install 'drillctl[notify]'"
        )
    variables = {**playbook.vars, **extra}
    channels = {}
    for name, url in notify.channels.items():
        try:
            channels[name] = str(templar.render(url, variables))
        except TemplateError as exc:
            raise InputError.at(playbook.path, 1, 1, f"notify.channels.{name}: {exc}") from None
    return replace(notify, channels=channels)
