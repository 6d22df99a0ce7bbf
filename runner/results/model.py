"""RunResult: the one typed shape of result.json (docs/result-json.md).

The runner and the rebuild from a journal both produce a RunResult (runner.results.assemble);
result.json is its serialisation (runner.results.codec) and docs/schema/result.schema.json the JSON
Schema generated from these classes (runner.results.schema). Field order is the key order
of result.json. A field marked OMIT_NONE / OMIT_EMPTY is left out of the JSON when it is
None / "", and is the only kind of field the schema does not require.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SCHEMA_VERSION = 1

Status = Literal["passed", "failed", "error", "interrupted"]
ObjectiveVerdict = Literal["met", "missed", "not measured"]
LimitVerdict = Literal["met", "missed"]
RunKind = Literal["drill", "incident"]
HostStatus = Literal["ok", "failed", "ignored", "skipped", "unreachable", "interrupted"]


# A field left out of result.json when it is None / an empty string.
OMIT_NONE = {"omit": "none"}
OMIT_EMPTY = {"omit": "empty"}


@dataclass(frozen=True)
class Objectives:
    rto_s: float | None
    rpo_s: float | None


@dataclass(frozen=True)
class Measured:
    """The recovery figures; a figure that was not measured is None, its reason in `reasons`."""

    time_to_detect_s: float | None
    time_to_decide_s: float | None
    time_to_rollback_s: float | None
    rto_s: float | None
    downtime_s: float | None
    lost_writes: int | None
    rpo_s: float | None
    resolution_s: float | None
    rpo_lower_bound: bool | None
    reasons: dict[str, str]


@dataclass(frozen=True)
class Verdicts:
    rto: ObjectiveVerdict | None
    rpo: ObjectiveVerdict | None
    budget: LimitVerdict | None
    baseline: LimitVerdict | None


@dataclass(frozen=True)
class IncidentTimeline:
    """The moments of the incident as UTC times (each None when it did not happen)."""

    t0: str | None
    detected: str | None
    decided: str | None
    rollback_started: str | None
    rollback_ended: str | None
    recovered: str | None
    probe: str
    no_incident: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class NoTimeline:
    """`timeline` of a run without availability probes: `{}`."""


@dataclass(frozen=True)
class DataProbeResult:
    probe: str
    stable: int | None
    lost: int | None
    recovered: int | None
    failed: int | None
    duplicated: int | None
    unexpected: int | None
    not_judged: int | None
    lost_seqs: tuple[int, ...] | None
    lost_writes: int | None
    rpo_s: float | None
    rpo_lower_bound: bool | None
    notes: tuple[str, ...]
    reasons: dict[str, str]


@dataclass(frozen=True)
class BaselineResult:
    probe: str
    n_before: int
    n_after: int
    median_before_ms: float | None
    median_after_ms: float | None
    ratio: float | None
    p_value: float | None
    slower: bool | None


@dataclass(frozen=True)
class AvailabilityStrip:
    """`runs`: [start_s, end_s, ok] from the run's start; ok None is an unknown stretch."""

    probe: str
    runs: tuple[tuple[float, float, bool | None], ...]
    unknown_samples: int
    unknown_s: float


@dataclass(frozen=True)
class TriggerResult:
    """What started the rollback; empty values are left out."""

    kind: str
    phase: str = field(default="", metadata=OMIT_EMPTY)
    step: str = field(default="", metadata=OMIT_EMPTY)
    host: str = field(default="", metadata=OMIT_EMPTY)
    detail: str = field(default="", metadata=OMIT_EMPTY)
    at: str = field(default="", metadata=OMIT_EMPTY)
    probe: str = field(default="", metadata=OMIT_EMPTY)


@dataclass(frozen=True)
class FaultResult:
    kind: str
    targets: tuple[str, ...]
    summary: str
    injected_at: str | None
    reverted_at: str | None
    revert_failed: bool


@dataclass(frozen=True, kw_only=True)
class ChecklistResult:
    """A checklist item: `check` (tied to `step`) or `confirmation` (`by`/`at` once given)."""

    list: Literal["before", "during", "after"]
    id: str
    text: str
    kind: Literal["check", "confirmation"]
    step: str = field(default="", metadata=OMIT_EMPTY)
    state: Literal["ticked", "failed", "not run", "confirmed", "open"]
    by: str = field(default="", metadata=OMIT_EMPTY)
    at: str = field(default="", metadata=OMIT_EMPTY)


@dataclass(frozen=True)
class PhaseResult:
    phase: str
    status: Literal["ok", "failed", "skipped"]
    started_at: str
    duration_s: float | None
    skipped_reason: str = field(default="", metadata=OMIT_EMPTY)


@dataclass(frozen=True)
class StepHostResult:
    phase: str
    name: str
    action: str | None
    host: str
    status: HostStatus
    started_at: str | None
    duration_s: float | None
    rc: int | None
    attempts: int | None
    msg: str


@dataclass(frozen=True)
class FileFacts:
    path: str
    sha256: str


@dataclass(frozen=True)
class InventoryFacts:
    path: str | None
    sha256: str | None
    reason: str | None


@dataclass(frozen=True)
class GitFacts:
    commit: str | None
    dirty: bool | None
    reason: str | None


@dataclass(frozen=True)
class ApprovalResult:
    by: str
    at: str
    via: str


@dataclass(frozen=True)
class SignatureFacts:
    file: str
    algorithm: Literal["ed25519"]
    key_id: str | None


@dataclass(frozen=True)
class JournalFacts:
    file: str
    head: str
    events: int
    signature: SignatureFacts | None


@dataclass(frozen=True)
class ProvenanceResult:
    drillctl_version: str
    playbook: FileFacts
    inventory: InventoryFacts
    git: GitFacts
    controller_host: str
    operator: str
    approvers: tuple[ApprovalResult, ...]
    journal: JournalFacts


@dataclass(frozen=True)
class RebuiltFrom:
    """Set only on a result rebuilt from the journal: from which file, why, how many events."""

    journal: str
    why: str
    events: int


@dataclass(frozen=True)
class IssueResult:
    kind: Literal["run", "objective", "step", "fault"]
    text: str


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """result.json. `checklists` is None (left out) only in a result rebuilt from a journal,
    which holds the confirmations but not the playbook's items; `rebuilt_from` is set only
    there."""

    schema_version: Literal[1] = 1
    run_id: str
    drill: str
    component: str | None
    playbook: str
    inventory: str
    environment: str | None
    operator: str
    change_id: str | None
    kind: RunKind
    plan_entry: str | None
    status: Status
    reason: str
    started_at: str
    ended_at: str
    duration_s: float
    rollback_type: int | None
    objectives: Objectives
    budget_s: float | None
    measured: Measured
    verdicts: Verdicts
    timeline: IncidentTimeline | NoTimeline
    data: tuple[DataProbeResult, ...]
    baseline: tuple[BaselineResult, ...]
    availability: tuple[AvailabilityStrip, ...]
    rolled_back: bool
    rollback_succeeded: bool | None
    trigger: TriggerResult | None
    faults: tuple[FaultResult, ...]
    checklists: tuple[ChecklistResult, ...] | None = field(default=None, metadata=OMIT_NONE)
    phases: tuple[PhaseResult, ...]
    steps: tuple[StepHostResult, ...]
    rebuilt_from: RebuiltFrom | None = field(default=None, metadata=OMIT_NONE)
    provenance: ProvenanceResult | None
    issues: tuple[IssueResult, ...] = ()
