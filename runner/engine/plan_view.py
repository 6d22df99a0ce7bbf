"""`drillctl plan`: the resolved plan as text, secrets masked."""

from __future__ import annotations

from typing import TextIO

from runner.engine.plan import DrillPlan
from runner.playbook.model import PHASES
from runner.secrets import SecretMask


def print_plan(plan: DrillPlan, mask: SecretMask, out: TextIO) -> None:
    pb = plan.playbook
    hosts = plan.all_hosts()
    budget = f", budget {pb.budget_s:g}s" if pb.budget_s else ", fix forward only"
    lines = [
        f"drill: {pb.drill} (rollback type {pb.rollback_type}{budget})",
        f"hosts: {', '.join(h.name for h in hosts) or '(none)'}",
        f"rollback: {pb.rollback_when}",
    ]
    for phase in PHASES:
        steps = plan.steps.get(phase, ())
        lines.append(f"\n{phase}:" + ("" if steps else " (no steps)"))
        for sp in steps:
            flags = " [run_once]" if sp.step.run_once else ""
            lines.append(f"  - {sp.step.name} ({sp.step.action}){flags}  # {sp.step.location}")
            for hp in sp.per_host:
                note = f"   ({hp.note})" if hp.note else ""
                body = hp.summary.splitlines() or [""]
                lines.append(f"      {hp.host}: {body[0]}{note}")
                lines.extend(f"      {' ' * len(hp.host)}  {more}" for more in body[1:])
    out.write(mask.mask("\n".join(lines)) + "\n")
