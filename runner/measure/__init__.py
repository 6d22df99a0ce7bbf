"""Measuring a drill: probes and triggers while it runs, and afterwards the figures an
auditor reads (RTO, downtime, lost writes, RPO, baseline latency, detection budgets).

The figures are computed by pure functions over frozen records (`samples`): no I/O, no
clock, no threads. A figure that cannot be measured is None with a note saying why.
"""

from runner.measure.baseline import BaselineComparison, compare_to_baseline, latencies
from runner.measure.budget import (
    budget_overrun,
    detection_worst_case,
    worst_case_recovery,
)
from runner.measure.recovery import (
    Measurement,
    downtime,
    incident_start,
    measure,
    measured_rto,
    recovered_at,
    time_to_decide,
    time_to_detect,
    time_to_rollback,
)
from runner.measure.rpo import DataLoss, data_loss
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.specs import ProbeSpec, TriggerRule
from runner.measure.timeline import Timeline

__all__ = [
    "AvailabilitySample",
    "BaselineComparison",
    "DataLoss",
    "Measurement",
    "ProbeSpec",
    "ReadBack",
    "Timeline",
    "TriggerRule",
    "WriteAttempt",
    "budget_overrun",
    "compare_to_baseline",
    "data_loss",
    "detection_worst_case",
    "downtime",
    "incident_start",
    "latencies",
    "measure",
    "measured_rto",
    "recovered_at",
    "time_to_decide",
    "time_to_detect",
    "time_to_rollback",
    "worst_case_recovery",
]
