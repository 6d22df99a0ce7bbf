"""The run history as Prometheus metrics, in the text exposition format (version 0.0.4).

Meant for node_exporter's textfile collector: `drillctl metrics --out
/var/lib/node_exporter/drillctl.prom` from cron; the file is replaced atomically, so the
collector never reads half of it. Durations are summaries (p50, p90 and max as quantile 1,
with _sum and _count); counts over the history are counters; shares are gauges.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from runner.history.quarter import parse_timestamp
from runner.history.rows import RunRow
from runner.report.quarterly import Figures, figures, spread


@dataclass(frozen=True)
class _Family:
    name: str
    kind: str
    help: str
    samples: list[tuple[str, dict[str, str], float]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


# (metric, help, RunRow field): one summary per measured duration.
_DURATIONS: tuple[tuple[str, str, str], ...] = (
    ("drillctl_detect_seconds", "Incident start (T0) to the first trigger.", "time_to_detect_s"),
    ("drillctl_decide_seconds", "Detection to the start of the rollback.", "time_to_decide_s"),
    ("drillctl_rollback_seconds", "Duration of the rollback phase.", "time_to_rollback_s"),
    ("drillctl_rto_seconds", "Measured RTO: T0 to sustained recovery.", "rto_s"),
    ("drillctl_downtime_seconds", "Time the availability probe was unhealthy.", "downtime_s"),
)

_RATIOS: tuple[tuple[str, str, Callable[[Figures], float | None]], ...] = (
    (
        "drillctl_rollback_success_ratio",
        "Share of rollbacks whose every step succeeded.",
        lambda f: f.rollback_success.value,
    ),
    (
        "drillctl_rto_attainment_ratio",
        "Share of judged runs that met their RTO objective.",
        lambda f: f.rto_attainment.value,
    ),
    (
        "drillctl_rpo_attainment_ratio",
        "Share of judged runs that met their RPO objective.",
        lambda f: f.rpo_attainment.value,
    ),
)


def _families(runs: Sequence[RunRow], base: dict[str, str]) -> list[_Family]:
    by_component: dict[str, list[RunRow]] = defaultdict(list)
    for run in runs:
        by_component[run.component or ""].append(run)
    fams = [
        _Family("drillctl_runs_total", "counter", "Drill runs recorded, by final status.", []),
        _Family("drillctl_rollbacks_total", "counter", "Runs whose rollback phase ran.", []),
        _Family("drillctl_lost_writes_total", "counter", "Acknowledged writes lost.", []),
        _Family("drillctl_data_loss_runs_total", "counter", "Runs that lost writes.", []),
        _Family("drillctl_repeat_rollbacks", "gauge", "Rollbacks repeating a cause.", []),
        _Family("drillctl_last_run_timestamp_seconds", "gauge", "Start of the last run.", []),
        _Family("drillctl_last_run_passed", "gauge", "1 when the last run passed.", []),
    ]
    ratio_fams = [_Family(n, "gauge", h, []) for n, h, _ in _RATIOS]
    duration_fams = [_Family(n, "summary", h, []) for n, h, _ in _DURATIONS]
    for component, rows in sorted(by_component.items()):
        labels = {**base, "component": component}
        fig = figures(component, rows)
        for status, count in fig.by_status.items():
            fams[0].samples.append(("", {**labels, "status": status}, count))
        fams[1].samples.append(("", labels, sum(1 for r in rows if r.rolled_back)))
        # Absent when the runs did not measure their loss: a 0 would claim no loss.
        if fig.lost_writes is not None and fig.data_loss_incidents is not None:
            fams[2].samples.append(("", labels, fig.lost_writes))
            fams[3].samples.append(("", labels, fig.data_loss_incidents))
        fams[4].samples.append(("", labels, fig.repeat_rollbacks))
        last = max(rows, key=lambda r: (r.started_at or "", r.run_id))
        when = parse_timestamp(last.started_at)
        if when is not None:
            fams[5].samples.append(("", labels, round(when.timestamp(), 3)))
        fams[6].samples.append(("", labels, 1 if last.status == "passed" else 0))
        for fam, (_, _, ratio) in zip(ratio_fams, _RATIOS, strict=True):
            value = ratio(fig)
            if value is not None:
                fam.samples.append(("", labels, value))
        for fam, (_, _, field) in zip(duration_fams, _DURATIONS, strict=True):
            values: list[float] = [v for r in rows if (v := getattr(r, field)) is not None]
            s = spread(values)
            for q, v in (("0.5", s.p50), ("0.9", s.p90), ("1", s.max)):
                if v is not None:
                    fam.samples.append(("", {**labels, "quantile": q}, v))
            fam.samples.append(("_sum", labels, round(math.fsum(values), 3)))
            fam.samples.append(("_count", labels, len(values)))
    return [*fams, *ratio_fams, *duration_fams]


def render_prometheus(runs: Sequence[RunRow], quarter: str | None = None) -> str:
    """Every metric family with HELP and TYPE, its samples together, one per line."""
    base = {"quarter": quarter} if quarter else {}
    lines: list[str] = []
    live = [r for r in runs if not r.voided]  # a voided run is listed in reports, counted nowhere
    for fam in _families(live, base):
        lines.append(f"# HELP {fam.name} {fam.help}")
        lines.append(f"# TYPE {fam.name} {fam.kind}")
        lines.extend(
            f"{fam.name}{suffix}{_labels(labels)} {_number(value)}"
            for suffix, labels, value in fam.samples
        )
    return "\n".join(lines) + "\n"
