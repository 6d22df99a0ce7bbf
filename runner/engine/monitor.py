"""Watching the drill: probes all drill long, triggers once the change begins, the decision.

The monitor is what turns samples into a rollback decision: a trigger fires from a probe
thread, the running change step is stopped, and the rollback begins, at once (`decision:
auto`) or once an operator approves (`decision: {manual: true}`) at the prompt or with
`drillctl approve RUN_DIR`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.connections.pool import ConnectionPool
from runner.engine.interrupts import Interrupts
from runner.engine.plan import DrillPlan
from runner.journal import JOURNAL_NAME, Journal, read_events, utc_now
from runner.journal_events import FINAL_EVENTS, Event
from runner.measure.alerts import AlertPoller, AlertWatch
from runner.measure.probes import ProbeInstance, ProbeRunner
from runner.measure.triggers import Fired, TriggerWatch
from runner.playbook.model import Decision, Playbook
from runner.provenance import Approval
from runner.templating.templar import Templar

# One file per approval, created once (O_EXCL): approvers never overwrite each other.
APPROVALS_DIR = "approvals"


@dataclass(frozen=True)
class DecisionRecord:
    mode: str  # auto | manual
    decided_mono: float
    approved_by: str = ""  # every approver, comma-separated
    approved_at: str = ""  # UTC, when the last needed approval was given
    approved_via: str = ""  # "approve" (drillctl approve) or "terminal"
    timed_out: bool = False
    proceed: bool = True  # False: no approval and on_timeout says abort
    approvals: tuple[Approval, ...] = ()  # each distinct approver, who, when and how


def probe_instances(plan: DrillPlan, templar: Templar) -> list[ProbeInstance]:
    """One instance per probe and host; availability templates rendered now, data ones per write."""
    instances = []
    for name, spec in plan.playbook.probes.items():
        for host in plan.probe_hosts.get(name, ()):
            variables = plan.host_vars[host.name]
            request = None if spec.is_data else templar.render(spec.request, variables)
            instances.append(ProbeInstance(spec, host, request, variables))
    return instances


def alert_watches(plan: DrillPlan, templar: Templar) -> list[AlertWatch]:
    """Each alert trigger with its source URL rendered (with the first host's variables:
    a trigger belongs to the drill, not to a host, and sees the playbook's and -e vars)."""
    variables = next(iter(plan.host_vars.values()), {})
    return [
        AlertWatch(rule, str(templar.render(rule.url, variables)))
        for rule in plan.playbook.triggers
        if rule.kind == "alert"
    ]


class DrillMonitor:
    def __init__(
        self,
        plan: DrillPlan,
        templar: Templar,
        journal: Journal,
        pool: ConnectionPool,
        interrupts: Interrupts,
        on_fire: Callable[[Fired], None],
        notice: Callable[[str], None],
        on_broken: Callable[[str], None] | None = None,
    ) -> None:
        self.playbook: Playbook = plan.playbook
        self.journal = journal
        self.interrupts = interrupts
        self.notice = notice
        self.run_dir = Path(str(next(iter(plan.host_vars.values()), {}).get("run_dir", ".")))
        self._on_fire = on_fire
        self.watch = TriggerWatch(self.playbook.triggers, self._fired)
        self.probes = ProbeRunner(
            probe_instances(plan, templar),
            pool,
            templar,
            journal,
            self.watch.observe,
            on_failure=self._broken,
        )
        self.alerts = AlertPoller(
            alert_watches(plan, templar), journal, self.watch.observe_alert, self._broken
        )
        self._on_broken = on_broken
        self.deploy_started: float | None = None
        self.verify_ended: float | None = None
        self._stopped = False

    def settle_s(self) -> float:
        """How long probing continues after verify: enough for every probe's healthy streak."""
        spans = [
            (i.spec.healthy_after + 1) * i.every_s for i in self.probes.instances if not i.is_data
        ]
        return min(max(spans, default=0.0), 10.0)

    def start(self) -> None:
        self.probes.start()
        self.alerts.start()

    def probe_failure(self) -> str:
        """Why the probes' evidence cannot be trusted: a worker died or hung ('' if none)."""
        return "; ".join(f for f in (self.probes.failure(), self.alerts.failure()) if f)

    def change_begins(self) -> None:
        self.deploy_started = time.monotonic()
        self.watch.arm(self.deploy_started)

    def change_over(self) -> None:
        self.watch.disarm()

    def stop(self) -> None:
        """Stop probing (after verify) and read back the data probes; harmless twice.

        Probing goes on a little past verify, long enough for `healthy_after` samples,
        so a recovery that verify saw can be confirmed as lasting.
        """
        if self._stopped:
            return
        self._stopped = True
        settle_until = time.monotonic() + self.settle_s()
        # An interrupt ends the settling at once: cleanup comes next, without delay.
        while time.monotonic() < settle_until and not self.interrupts.interrupted():
            time.sleep(0.05)
        self.verify_ended = time.monotonic()
        self.watch.disarm()
        self.alerts.stop()
        self.probes.stop()
        self.probes.read_back()

    def _broken(self, why: str) -> None:
        """From a probe thread: a worker died or hung; the drill decides what to stop."""
        self.notice(f"measurement broken: {why}")
        if self._on_broken is not None:
            self._on_broken(why)

    def _fired(self, fired: Fired) -> None:
        self.journal.record(
            Event.TRIGGER_EVIDENCE,
            probe=fired.probe,
            rule=fired.rule.describe(),
            samples=[
                [round(s.t, 6), s.verdict, s.latency_s, self.journal.mask.head(s.error, 120)]
                for s in fired.samples
            ],
        )
        self._on_fire(fired)

    # -- the decision ---------------------------------------------------------------
    def decide(self, detected_mono: float | None) -> DecisionRecord:
        decision: Decision = self.playbook.decision
        if not decision.manual or detected_mono is None:
            return DecisionRecord("auto", time.monotonic())
        timeout = decision.timeout_s if decision.timeout_s is not None else 15 * 60
        self.notice(
            f"rollback needs {_approvals_text(decision.approvers)}: type 'rollback' here, or run "
            f"`drillctl approve {self.run_dir}` (times out in {timeout:g}s, then "
            f"{decision.on_timeout})"
        )
        self.journal.record(
            Event.DECISION_REQUESTED,
            timeout_s=timeout,
            on_timeout=decision.on_timeout,
            approvers=decision.approvers,
        )
        given = _wait_for_approvals(self.run_dir, timeout, self.interrupts, decision.approvers)
        now = time.monotonic()
        if len(given) < decision.approvers:
            proceed = decision.on_timeout == "rollback"
            have = f" ({len(given)} of {decision.approvers} approvals)" if given else ""
            self.notice(f"no decision within {timeout:g}s{have}: {decision.on_timeout}")
            return DecisionRecord("manual", now, timed_out=True, proceed=proceed, approvals=given)
        last = given[-1]
        return DecisionRecord(
            "manual",
            now,
            approved_by=", ".join(a.by for a in given),
            approved_at=last.at,
            approved_via=", ".join(dict.fromkeys(a.via for a in given)),
            approvals=given,
        )

    def approvals(self, record: DecisionRecord | None) -> tuple[Approval, ...]:
        """Who approved the rollback and when, for the run's provenance."""
        if record is None:
            return ()
        if record.approvals:
            return record.approvals
        if not record.approved_by:
            return ()
        return (Approval(record.approved_by, record.approved_at, record.approved_via),)


def read_approvals(run_dir: Path) -> list[Approval]:
    """Approvals given with `drillctl approve`, in the order given, one per approver."""
    folder = run_dir / APPROVALS_DIR
    found: dict[str, Approval] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            given = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being written: the next poll reads it
        if isinstance(given, dict) and given.get("operator"):
            by = str(given["operator"])
            found.setdefault(by, Approval(by, str(given.get("at") or utc_now()), "approve"))
    return list(found.values())


def _wait_for_approvals(
    run_dir: Path, timeout: float, interrupts: Interrupts, needed: int
) -> tuple[Approval, ...]:
    """Distinct approvals (from `drillctl approve` or the terminal) until `needed` are in,
    the timeout passes, or an interrupt ends the wait; whatever was given, in order."""
    terminal: list[Approval] = []
    if sys.stdin is not None and sys.stdin.isatty():

        def read_terminal() -> None:
            for line in sys.stdin:
                if line.strip().lower() in ("rollback", "yes", "y"):
                    terminal.append(Approval(f"{_user()} (terminal)", utc_now(), "terminal"))
                    return

        threading.Thread(target=read_terminal, daemon=True).start()
    deadline = time.monotonic() + timeout
    given: dict[str, Approval] = {}
    while True:
        for approval in [*terminal, *read_approvals(run_dir)]:
            given.setdefault(approval.by, approval)
        if len(given) >= needed or time.monotonic() >= deadline or interrupts.interrupted():
            return tuple(given.values())
        time.sleep(0.05)


def _approvals_text(needed: int) -> str:
    return "approval" if needed == 1 else f"{needed} approvals from distinct operators"


def _user() -> str:
    return os.environ.get("USER") or os.environ.get("LOGNAME") or "operator"


def waiting_for_decision(run_dir: Path) -> str:
    """'' when the run in `run_dir` waits for a manual decision now, else why it does not."""
    path = run_dir / JOURNAL_NAME
    if not path.is_file():
        return "no journal.jsonl here; give the directory of a running drill"
    waiting = False
    started: dict[str, object] = {}
    for event in read_events(path):
        kind = event.get("event")
        if kind == Event.RUN_STARTED:
            started = event
        elif kind == Event.DECISION_REQUESTED:
            waiting = True
        elif kind == Event.DECISION:
            waiting = False
        elif kind in FINAL_EVENTS:
            return "the run has finished"
    if read_approvals(run_dir) and not waiting:
        return "the rollback was already decided"
    if not waiting:
        return "the run is not waiting for a decision (no rollback is asking for approval)"
    if not _process_alive(started.get("pid")):
        return "the run's process is gone (it died while waiting); see `drillctl recover`"
    return ""


def _process_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


class AlreadyApproved(Exception):
    """This approver's approval is in already: a quorum needs distinct people."""


def approve(run_dir: Path, operator: str) -> Path:
    """`drillctl approve RUN_DIR`: record one operator's go-ahead for the rollback."""
    who = operator or _user()
    if any(a.by == who for a in read_approvals(run_dir)):
        raise AlreadyApproved(f"{who} has approved this rollback already")
    folder = run_dir / APPROVALS_DIR
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"operator": who, "at": utc_now()}))
    n = len(list(folder.glob("*.json")))
    while True:  # the next free number: a name two approvers cannot both take
        path = folder / f"{n:03d}.json"
        try:
            os.link(tmp, path)
            break
        except FileExistsError:
            n += 1
    tmp.unlink()
    return path


def approvals_needed(run_dir: Path) -> int:
    """How many distinct approvals the run's pending decision asks for (1 if it does not say)."""
    needed = 1
    for event in read_events(run_dir / JOURNAL_NAME):
        if event.get("event") == Event.DECISION_REQUESTED:
            value = event.get("approvers")
            needed = value if isinstance(value, int) and value > 0 else 1
    return needed
