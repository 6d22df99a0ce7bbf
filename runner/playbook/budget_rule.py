"""The RTO budget rule: the triggers must be able to detect, and the declared rollback and
verify timeouts to finish, within the RTO objective."""

from __future__ import annotations

from runner.durations import parse_duration
from runner.errors import Diagnostic
from runner.measure.budget import ProbeSpec, TriggerSpec, detection_worst_case
from runner.measure.triggers import parse_rules
from runner.playbook.model import Playbook
from runner.yamlpos import YamlDocument

RULE = "rto-budget"
DEFAULT_PROBE_TIMEOUT_S = 1.0


def probe_specs(playbook: Playbook) -> list[ProbeSpec]:
    specs = []
    for name, spec in playbook.probes.items():
        every = parse_duration(spec.get("every", "1s"))
        timeout = DEFAULT_PROBE_TIMEOUT_S
        for kind in ("http", "tcp"):
            if isinstance(spec.get(kind), dict) and "timeout" in spec[kind]:
                timeout = parse_duration(spec[kind]["timeout"])
        if "timeout" in spec:
            timeout = parse_duration(spec["timeout"])
        specs.append(ProbeSpec(name, every, timeout))
    return specs


def worst_detection(playbook: Playbook) -> tuple[float, str] | None:
    """The earliest worst case over the probe triggers (the first to fire decides)."""
    probes = probe_specs(playbook)
    best: tuple[float, str] | None = None
    for rule in parse_rules(playbook.triggers):
        if rule.kind == "step_failed":
            continue
        spec = TriggerSpec(
            rule.kind,
            rule.probe,
            rule.consecutive_failures,
            rule.error_rate,
            rule.window_s,
            rule.latency_p,
            rule.above_s,
        )
        worst = detection_worst_case(spec, probes)
        if worst is not None and (best is None or worst < best[0]):
            best = (worst, rule.describe())
    return best


def check_budget(playbook: Playbook, doc: YamlDocument) -> list[Diagnostic]:
    rto = playbook.objectives.rto_s
    detection = worst_detection(playbook)
    if rto is None or detection is None:
        return []
    detect_s, trigger = detection
    rollback = sum(s.timeout_s or 0.0 for s in playbook.steps("rollback"))
    verify = sum(s.timeout_s or 0.0 for s in playbook.steps("verify"))
    decision = (playbook.decision.timeout_s or 900.0) if playbook.decision.manual else 0.0
    worst = detect_s + decision + rollback + verify
    if worst <= rto:
        return []
    parts = [f"detection up to {detect_s:.1f}s ({trigger})"]
    if decision:
        parts.append(f"manual decision up to {decision:g}s")
    if rollback:
        parts.append(f"rollback timeouts {rollback:g}s")
    if verify:
        parts.append(f"verify timeouts {verify:g}s")
    return [
        doc.diag(
            ("objectives", "rto"),
            f"the RTO objective of {rto:g}s cannot be met: {' + '.join(parts)} = {worst:.1f}s, "
            f"over by {worst - rto:.1f}s; probe more often, need fewer failures, "
            "or raise the objective",
            rule=RULE,
        )
    ]
