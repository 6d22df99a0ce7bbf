"""The communication plan's messages, as the drill's hooks send them: which event each hook
sends and with which fields (the procedure's wording word for word, and every field a
template may use), what the terminal's own hooks still get, and what the journal says of
each delivery. A recording channel stands in for Apprise; the clock is frozen.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

import runner.engine.notices
from runner.engine.drill import DrillHooks
from runner.engine.notices import DrillNotices, trigger_text
from runner.engine.outcome import DrillOutcome, Trigger
from runner.journal_events import Event
from runner.notify.plan import NotifyPlan
from runner.playbook.model import Playbook
from runner.secrets import SecretMask
from runner.templating.templar import Templar

NOW = datetime(2026, 12, 1, 23, 59, 30, tzinfo=timezone.utc)
SECRET = "tok-3f9a77"

# Every field a template may use (docs/notifications.md), in one line.
ALL_FIELDS = (
    "{{ event }}: drill={{ drill }} component={{ component }} env={{ environment }} "
    "type={{ rollback_type }} budget={{ budget }} change=[{{ change_line }}] "
    "reason={{ reason }} eta={{ eta }} step={{ step_number }}/{{ step_count }} "
    "name={{ step_name }} step_status={{ step_status }} status={{ status }} now={{ now }} "
    "figures={{ figures }}"
)


class FrozenClock(datetime):
    """`datetime` whose now() is NOW; the machine's local time is two hours east of UTC."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        if tz is None:
            return (NOW + timedelta(hours=2)).replace(tzinfo=None)
        return NOW.astimezone(tz)


class Recorded:
    """The journal's records and the inner (terminal) hooks' calls."""

    def __init__(self) -> None:
        self.journal: list[tuple[Any, dict[str, Any]]] = []
        self.hooks: list[tuple[Any, ...]] = []

    def record(self, kind: Any, **fields: Any) -> None:
        self.journal.append((kind, fields))


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.engine.notices, "datetime", FrozenClock)


def notices(
    recorded: Recorded,
    *,
    rollback_type: int = 1,
    component: str = "payments",
    environment: str = "staging",
    change_id: str = "CHG-42",
    rollback_steps: int = 2,
    templates: dict[str, str] | None = None,
) -> tuple[DrillNotices, list[tuple[str, str, str]], DrillHooks]:
    """DrillNotices for a drill `payments-drill` with one channel `desk` (reaching
    Operations) that accepts everything; what it received; and the wrapped hooks."""
    playbook = Playbook(path="drill.yml", drill="payments-drill", rollback_type=rollback_type)
    playbook = Playbook(**{**playbook.__dict__, "component": component})
    plan = SimpleNamespace(playbook=playbook, steps={"rollback": (None,) * rollback_steps})
    notify = NotifyPlan(
        channels={"desk": "json://127.0.0.1:9/hook"},
        audience={"desk": ("Operations",)},
        timeout_s=5.0,
        templates=templates or {},
    )
    templar = Templar(SecretMask([SECRET]))
    drill_notices = DrillNotices(plan, notify, templar, recorded, environment, change_id)  # type: ignore[arg-type]
    received: list[tuple[str, str, str]] = []

    def send(url: str, title: str, body: str, timeout_s: float) -> bool:
        received.append((url, title, body))
        return True

    drill_notices.notifier.send = send
    inner = DrillHooks(
        phase_started=lambda phase: recorded.hooks.append(("phase_started", phase)),
        step_finished=lambda phase, step, result: recorded.hooks.append(
            ("step_finished", phase, step, result)
        ),
    )
    return drill_notices, received, drill_notices.wrap(inner)


def outcome(status: str, reason: str) -> DrillOutcome:
    return DrillOutcome(status, reason, (), "", "", 0.0, 0.0, True, status == "passed", None)


FIGURES = {"time_to_rollback_s": 1.5, "rto_s": None, "lost_writes": 0}


def a_drill(drill_notices: DrillNotices, hooks: DrillHooks, status: str, reason: str) -> None:
    """Start, a deploy step, the rollback's two steps (the second failed), the end."""
    undo, restart = SimpleNamespace(name="undo"), SimpleNamespace(name="restart")
    drill_notices.started()
    hooks.phase_started("deploy")
    hooks.step_finished("deploy", SimpleNamespace(name="change"), SimpleNamespace(failed=False))
    drill_notices.reason = lambda: f"step 'change' failed in deploy: token {SECRET} refused"
    hooks.phase_started("rollback")
    hooks.step_finished("rollback", undo, SimpleNamespace(failed=False))
    hooks.step_finished("rollback", restart, SimpleNamespace(failed=True))
    drill_notices.finished(outcome(status, reason), FIGURES)


def test_the_procedures_messages_word_for_word() -> None:
    recorded = Recorded()
    drill_notices, received, hooks = notices(recorded)
    a_drill(drill_notices, hooks, "failed", "rollback failed: step 'restart' failed")
    to = "\nTo: Operations"
    assert received == [
        (
            "json://127.0.0.1:9/hook",
            "[DRILL] payments-drill starting",
            "Rollback drill of payments starting on staging (rollback type 1, budget 1m00s). "
            "Change CHG-42." + to,
        ),
        (
            "json://127.0.0.1:9/hook",
            "[ROLLBACK] payments - payments-drill",
            "[ROLLBACK] Initiating rollback of payments due to step 'change' failed in "
            "deploy: token ******** refused. Expected completion: 00:00:30 UTC. Updates at "
            "every rollback step." + to,
        ),
        (
            "json://127.0.0.1:9/hook",
            "[ROLLBACK UPDATE] payments",
            "[ROLLBACK UPDATE] Step 1 of 2 complete (undo): ok. ETA: 00:00:30 UTC." + to,
        ),
        (
            "json://127.0.0.1:9/hook",
            "[ROLLBACK UPDATE] payments",
            "[ROLLBACK UPDATE] Step 2 of 2 complete (restart): failed. ETA: 00:00:30 UTC." + to,
        ),
        (
            "json://127.0.0.1:9/hook",
            "[DRILL FAILED] payments - payments-drill",
            "Drill FAILED at 23:59:30 UTC: rollback failed: step 'restart' failed. "
            "time to roll back 1.50s, RTO not measured, lost writes 0." + to,
        ),
    ]


def test_a_passed_drill_ends_with_the_completion_message() -> None:
    recorded = Recorded()
    drill_notices, received, hooks = notices(recorded)
    a_drill(drill_notices, hooks, "passed", "rolled back in 1.50s and verified")
    assert received[-1][1:] == (
        "[ROLLBACK COMPLETE] payments - payments-drill",
        "[ROLLBACK COMPLETE] Drill PASSED at 23:59:30 UTC. time to roll back 1.50s, "
        "RTO not measured, lost writes 0.\nTo: Operations",
    )


def test_each_event_gives_its_templates_every_field() -> None:
    recorded = Recorded()
    templates = dict.fromkeys(("start", "rollback", "progress", "complete", "failure"), ALL_FIELDS)
    drill_notices, received, hooks = notices(recorded, templates=templates)
    a_drill(drill_notices, hooks, "passed", "rolled back in 1.50s and verified")
    base = "drill=payments-drill component=payments env=staging type=1 budget=1m00s "
    base += "change=[ Change CHG-42.] "
    to = "\nTo: Operations"
    assert [body for _, _, body in received] == [
        "start: " + base + "reason=unknown eta=unknown step=?/? name= step_status= status= "
        "now=23:59:30 UTC figures=" + to,
        "rollback: " + base + "reason=step 'change' failed in deploy: token ******** refused "
        "eta=00:00:30 UTC step=?/? name= step_status= status= now=23:59:30 UTC figures=" + to,
        "progress: " + base + "reason=unknown eta=00:00:30 UTC step=1/2 name=undo step_status=ok "
        "status= now=23:59:30 UTC figures=" + to,
        "progress: " + base + "reason=unknown eta=00:00:30 UTC step=2/2 name=restart "
        "step_status=failed status= now=23:59:30 UTC figures=" + to,
        "complete: " + base + "reason=rolled back in 1.50s and verified eta=unknown step=?/? "
        "name= step_status= status=PASSED now=23:59:30 UTC "
        "figures=time to roll back 1.50s, RTO not measured, lost writes 0." + to,
    ]


def test_without_a_component_environment_change_or_budget_the_fields_say_so() -> None:
    # Rollback type 5 has no budget (fix forward only); the plan has no rollback step of
    # its own, and the rollback's reason was never told.
    recorded = Recorded()
    templates = dict.fromkeys(("start", "rollback", "progress"), ALL_FIELDS)
    drill_notices, received, hooks = notices(
        recorded,
        rollback_type=5,
        component="",
        environment="",
        change_id="",
        rollback_steps=0,
        templates=templates,
    )
    drill_notices.started()
    hooks.phase_started("rollback")
    hooks.step_finished("rollback", SimpleNamespace(name="undo"), SimpleNamespace(failed=False))
    drill_notices.notifier.close()
    base = "drill=payments-drill component=payments-drill env=unknown type=5 "
    base += "budget=none (fix forward only) change=[] "
    assert [body for _, _, body in received] == [
        "start: " + base + "reason=unknown eta=unknown step=?/? name= step_status= status= "
        "now=23:59:30 UTC figures=\nTo: Operations",
        "rollback: " + base + "reason=unknown eta=unknown step=?/? name= step_status= status= "
        "now=23:59:30 UTC figures=\nTo: Operations",
        "progress: " + base + "reason=unknown eta=unknown step=1/? name=undo step_status=ok "
        "status= now=23:59:30 UTC figures=\nTo: Operations",
    ]


def test_the_terminal_hooks_still_get_every_call_unchanged() -> None:
    recorded = Recorded()
    drill_notices, _, hooks = notices(recorded)
    step, result = SimpleNamespace(name="undo"), SimpleNamespace(failed=False)
    hooks.phase_started("deploy")
    hooks.step_finished("deploy", step, result)
    hooks.phase_started("rollback")
    hooks.step_finished("rollback", step, result)
    drill_notices.notifier.close()
    assert recorded.hooks == [
        ("phase_started", "deploy"),
        ("step_finished", "deploy", step, result),
        ("phase_started", "rollback"),
        ("step_finished", "rollback", step, result),
    ]


def test_every_delivery_is_journaled_with_its_event_channel_and_title() -> None:
    recorded = Recorded()
    drill_notices, _, hooks = notices(recorded)
    a_drill(drill_notices, hooks, "passed", "rolled back in 1.50s and verified")
    assert [
        (kind, fields["notify_event"], fields["channel"], fields["to"], fields["title"])
        for kind, fields in recorded.journal
    ] == [
        (Event.NOTIFY_SENT, "start", "desk", ["Operations"], "[DRILL] payments-drill starting"),
        (
            Event.NOTIFY_SENT,
            "rollback",
            "desk",
            ["Operations"],
            "[ROLLBACK] payments - payments-drill",
        ),
        (Event.NOTIFY_SENT, "progress", "desk", ["Operations"], "[ROLLBACK UPDATE] payments"),
        (Event.NOTIFY_SENT, "progress", "desk", ["Operations"], "[ROLLBACK UPDATE] payments"),
        (
            Event.NOTIFY_SENT,
            "complete",
            "desk",
            ["Operations"],
            "[ROLLBACK COMPLETE] payments - payments-drill",
        ),
    ]


@pytest.mark.parametrize(
    ("trigger", "text"),
    [
        pytest.param(None, "the drill's planned rollback rehearsal", id="no-trigger"),
        pytest.param(
            Trigger("rehearsal", detail="rollback_when: always"),
            "the drill's planned rollback rehearsal",
            id="rehearsal",
        ),
        pytest.param(
            Trigger("interrupt", detail="interrupted"), "interrupted", id="interrupt-detail"
        ),
        pytest.param(
            Trigger("step_failed", detail="step 'change' failed in deploy"),
            "step 'change' failed in deploy",
            id="its-detail",
        ),
        pytest.param(Trigger("probe_failed"), "probe_failed", id="no-detail-its-kind"),
    ],
)
def test_what_the_rollback_message_gives_as_its_cause(trigger: Trigger | None, text: str) -> None:
    drill = SimpleNamespace(state=SimpleNamespace(trigger=trigger))
    assert trigger_text(drill) == text  # type: ignore[arg-type]
