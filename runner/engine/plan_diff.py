"""`plan --diff` / `run --check --diff`: the diff each file-changing step would make now.

This reads the targets (the files and links those steps change, with read-only commands
over the run's own connections and host-key rules) and changes nothing. Each step is
diffed against what is on the target now, as Ansible's check mode does: a step whose
arguments use a registered result is decided at run time, and says so.
"""

from __future__ import annotations

from typing import Any, TextIO

from runner.actions import ACTIONS, ActionArgError
from runner.actions.diffs import DIFF_ACTIONS, preview_diff
from runner.connections.base import CancelToken
from runner.connections.pool import ConnectionPool
from runner.engine.plan import DrillPlan, StepPlan
from runner.engine.steps import render_args
from runner.inventory.model import Host
from runner.playbook.model import PHASES
from runner.secrets import SecretMask
from runner.templating.templar import Templar, TemplateError


def print_plan_diffs(plan: DrillPlan, templar: Templar, out: TextIO) -> None:
    """Print, masked, the diff of every config/flag.file/release step on each of its hosts."""
    targets = [
        (sp, host)
        for phase in PHASES
        for sp in plan.steps.get(phase, ())
        if sp.step.action in DIFF_ACTIONS
        for host in (sp.hosts[:1] if sp.step.run_once else sp.hosts)
    ]
    if not targets:
        return
    hosts = list({h.name: h for _, h in targets}.values())
    pool = ConnectionPool()
    pool.check_supported(hosts)
    registers = {s.register for s in plan.playbook.all_steps() if s.register}
    try:
        pool.open_all(hosts, plan.playbook.forks)
        for sp, host in targets:
            text = _diff(sp, host, plan, templar, pool, registers)
            if text is not None:
                _print(out, templar.secrets, sp, host, text)
    finally:
        pool.close_all()


def _diff(
    sp: StepPlan,
    host: Host,
    plan: DrillPlan,
    templar: Templar,
    pool: ConnectionPool,
    registers: set[str],
) -> str | None:
    step = sp.step
    if any(hp.host == host.name and hp.note.startswith("skipped") for hp in sp.per_host):
        return None
    if step.loop is not None:
        return "(diff per loop item, at run time)\n"
    if _names(templar, step.args) & registers:
        return "(uses a registered result: diff decided at run time)\n"
    variables = plan.host_vars[host.name]
    try:
        planned = ACTIONS[step.action].plan(render_args(step, variables, templar), host)
    except (TemplateError, ActionArgError) as exc:
        return f"(no diff: {exc})\n"
    text = preview_diff(planned, pool.get(host), templar, variables, CancelToken(), step.timeout_s)
    return text or "(no change)\n"


def _names(templar: Templar, value: Any) -> set[str]:
    """Variables a step's arguments read."""
    if isinstance(value, str):
        try:
            return templar.variables_used(value)
        except TemplateError:
            return set()
    if isinstance(value, dict):
        return set().union(*(_names(templar, v) for v in value.values()), set())
    if isinstance(value, list):
        return set().union(*(_names(templar, v) for v in value), set())
    return set()


def _print(out: TextIO, mask: SecretMask, sp: StepPlan, host: Host, text: str) -> None:
    body = mask.mask(text).rstrip("\n")
    out.write(f"\n--diff {sp.step.phase}: {sp.step.name} on {host.name}\n{body}\n")
