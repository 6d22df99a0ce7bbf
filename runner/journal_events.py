"""Every kind of event the run journal holds, with its fields: the one place they are spelled.

Writers (`Journal.record(Event.PHASE_STARTED, phase=...)`) and readers (the rebuild from a
journal, `drillctl recover`, `drillctl verify`, the reports) name a kind through `Event`, so
a kind cannot be misspelled on one side only, and `FIELDS` says what each event carries
beyond the envelope every line has (`ENVELOPE`). docs/journal.md lists the same kinds; a test
keeps the two, and the writers' keyword arguments, in step with this module.
"""

from __future__ import annotations

from enum import Enum


class Event(str, Enum):
    """A journal event kind; its value is what `event` holds in journal.jsonl."""

    RUN_STARTED = "run_started"
    RUN_FINISHED = "run_finished"
    INTERRUPTED = "interrupted"
    PROBES_STARTED = "probes_started"
    PROBE_SAMPLES = "probe_samples"
    PROBE_WRITES = "probe_writes"
    PROBE_READ_BACK = "probe_read_back"
    PROBE_READ_FAILED = "probe_read_failed"
    PROBE_FAILED = "probe_worker_died"
    RUN_STATE_KEPT = "run_state_kept"
    RUN_STATE_REMOVED = "run_state_removed"
    PHASE_STARTED = "phase_started"
    PHASE_FINISHED = "phase_finished"
    PHASE_SKIPPED = "phase_skipped"
    STEPS_SKIPPED = "steps_skipped"
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    HOST_RESULT = "host_result"
    ANSIBLE_TASK = "ansible_task"
    UNDO_RECORDED = "undo_recorded"
    CHECKLIST_CONFIRMED = "checklist_confirmed"
    TRIGGER_EVIDENCE = "trigger_evidence"
    TRIGGER_FIRED = "trigger_fired"
    ALERT_STATE = "alert_state"
    DECISION_REQUESTED = "decision_requested"
    DECISION = "decision"
    FAULT_TARGETS = "fault_targets"
    FAULT_INTENT = "fault_intent"
    FAULT_INJECT_FAILED = "fault_inject_failed"
    FAULT_INJECTED = "fault_injected"
    FAULT_REVERT_STARTED = "fault_revert_started"
    FAULT_REVERTED = "fault_reverted"
    FAULT_REVERT_FAILED = "fault_revert_failed"
    RECOVER_STARTED = "recover_started"
    RECOVER_FINISHED = "recover_finished"
    RECOVER_WAITED = "recover_waited"
    INTERRUPT_RECEIVED = "interrupt_received"
    NOTIFY_SENT = "notify_sent"
    NOTIFY_FAILED = "notify_failed"
    MEASURED = "run_measured"

    def __str__(self) -> str:
        return self.value


# Fields every line carries, written by the journal itself.
ENVELOPE = frozenset({"seq", "event", "time", "mono", "prev", "hash"})

# The events a finished run ends with; a journal whose last line is not one of them was cut
# (or the runner died before it finished, which `drillctl recover` deals with).
FINAL_EVENTS = (Event.RUN_FINISHED, Event.INTERRUPTED)

# The events written ahead of what they announce: `Journal.record` returns only once such a
# line is on disk (fsynced), together with every line written before it (group commit). A
# fault's intent precedes its injection, so a runner killed in between still leaves the fault
# for `drillctl recover`; the final event precedes result.json and exit; a fault's fate and a
# recover session's lines say what is left on the targets. Every other line reaches the file
# at once (another process reads it) and the disk within the journal's flush interval.
DURABLE_EVENTS = frozenset(
    str(kind)
    for kind in (
        Event.RUN_STARTED,
        *FINAL_EVENTS,
        Event.FAULT_INTENT,
        Event.FAULT_INJECT_FAILED,
        Event.FAULT_INJECTED,
        Event.FAULT_REVERT_STARTED,
        Event.FAULT_REVERTED,
        Event.FAULT_REVERT_FAILED,
        Event.RECOVER_STARTED,
        Event.RECOVER_FINISHED,
    )
)

_TRIGGER = ("kind", "phase", "step", "host", "detail", "at", "mono", "probe")

FIELDS: dict[Event, frozenset[str]] = {
    Event.RUN_STARTED: frozenset(
        {
            "run_id",
            "drill",
            "component",
            "playbook",
            "inventory",
            "inventory_path",
            "inventory_paths",
            "connection_defaults",
            "pid",
            "operator",
            "change_id",
            "environment",
            "kind",
            "plan_entry",
            "rollback_type",
            "hosts",
            "provenance",
        }
    ),
    Event.RUN_FINISHED: frozenset({"status", "reason", "signal"}),
    Event.INTERRUPTED: frozenset({"status", "reason", "signal"}),
    Event.PROBES_STARTED: frozenset({"probes"}),
    Event.PROBE_SAMPLES: frozenset({"probe", "fields", "rows"}),
    Event.PROBE_WRITES: frozenset({"probe", "fields", "rows"}),
    Event.PROBE_READ_BACK: frozenset(
        {"probe", "host", "ok", "attempts", "count", "seqs", "duration_s", "error"}
    ),
    Event.PROBE_READ_FAILED: frozenset({"probe", "host", "attempt", "duration_s", "error"}),
    Event.PROBE_FAILED: frozenset({"probe", "error"}),
    Event.RUN_STATE_KEPT: frozenset({"host", "path", "reason"}),
    Event.RUN_STATE_REMOVED: frozenset({"host", "path"}),
    Event.PHASE_STARTED: frozenset({"phase", "started_at"}),
    Event.PHASE_FINISHED: frozenset({"phase", "status", "duration_s"}),
    Event.PHASE_SKIPPED: frozenset({"phase", "reason", "started_at"}),
    Event.STEPS_SKIPPED: frozenset({"steps", "reason"}),
    Event.STEP_STARTED: frozenset({"phase", "index", "step", "action", "hosts"}),
    Event.STEP_FINISHED: frozenset({"phase", "index", "step", "status", "duration_s"}),
    Event.ANSIBLE_TASK: frozenset(
        {
            "phase",
            "index",
            "step",
            "host",
            "play",
            "task",
            "action",
            "status",
            "changed",
            "rc",
            "msg",
            "duration_s",
        }
    ),
    Event.HOST_RESULT: frozenset(
        {
            "phase",
            "index",
            "step",
            "host",
            "status",
            "rc",
            "msg",
            "summary",
            "attempts",
            "started_at",
            "duration_s",
            "stdout",
            "stderr",
        }
    ),
    Event.UNDO_RECORDED: frozenset({"step", "host", "action", "args", "summary"}),
    Event.CHECKLIST_CONFIRMED: frozenset({"id", "by", "via"}),
    Event.TRIGGER_EVIDENCE: frozenset({"probe", "rule", "samples"}),
    Event.TRIGGER_FIRED: frozenset(_TRIGGER),
    Event.ALERT_STATE: frozenset({"alert", "source", "state", "detail"}),
    Event.DECISION_REQUESTED: frozenset({"timeout_s", "on_timeout", "approvers"}),
    Event.DECISION: frozenset(
        {
            "decision",
            "mode",
            "approved_by",
            "approved_at",
            "approved_via",
            "timed_out",
            "approvals",
        }
    ),
    Event.FAULT_TARGETS: frozenset({"step", "hosts", "seed"}),
    Event.MEASURED: frozenset(
        {
            "status",
            "reason",
            "started_at",
            "ended_at",
            "started_mono",
            "ended_mono",
            "decided_mono",
            "objectives",
            "budget_s",
            "timeline",
            "healthy_after",
            "figures",
            "baseline",
        }
    ),
    Event.RECOVER_WAITED: frozenset({"seconds"}),
    Event.INTERRUPT_RECEIVED: frozenset({"signal", "phase", "count"}),
    Event.NOTIFY_SENT: frozenset({"notify_event", "channel", "took_s", "to", "title"}),
    Event.NOTIFY_FAILED: frozenset({"notify_event", "channel", "took_s", "error"}),
    Event.FAULT_INTENT: frozenset({"fault_id", "host", "kind", "summary", "plan"}),
    Event.FAULT_INJECT_FAILED: frozenset({"fault_id", "reason"}),
    Event.FAULT_INJECTED: frozenset({"fault_id", "host", "kind", "in_effect", "injected_at"}),
    Event.FAULT_REVERT_STARTED: frozenset({"fault_id", "reason"}),
    Event.FAULT_REVERTED: frozenset({"fault_id", "checked", "detail", "by", "reverted_at", "late"}),
    Event.FAULT_REVERT_FAILED: frozenset({"fault_id", "detail", "manual", "by"}),
    Event.RECOVER_STARTED: frozenset({"pending", "pid"}),
    Event.RECOVER_FINISHED: frozenset({"reverted", "failed"}),
}
