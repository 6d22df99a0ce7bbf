"""`drillctl plan`'s text, line by line: what the operator reviews before a drill runs."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import cast

from runner.engine.plan import DrillPlan, HostPlan, StepPlan
from runner.engine.plan_view import print_plan
from runner.inventory.model import Host
from runner.playbook.model import Playbook, Step
from runner.secrets import SecretMask


@dataclass(frozen=True)
class _Playbook:
    drill: str
    rollback_type: int
    budget_s: float | None
    rollback_when: str


@dataclass(frozen=True)
class _Host:
    name: str


@dataclass(frozen=True)
class _Step:
    name: str
    action: str
    run_once: bool
    location: str


def _step(name: str, action: str, run_once: bool, *per_host: HostPlan) -> StepPlan:
    hosts = tuple(cast(Host, _Host(hp.host)) for hp in per_host)
    step = cast(Step, _Step(name, action, run_once, f"drill.yml:{len(name)}:5"))
    return StepPlan(step, hosts, per_host)


def _text(plan: DrillPlan, mask: SecretMask | None = None) -> str:
    out = io.StringIO()
    print_plan(plan, mask or SecretMask(), out)
    return out.getvalue()


def test_the_plan_lists_each_phase_step_and_host_with_its_notes() -> None:
    playbook = cast(Playbook, _Playbook("web-rollback", 2, 300.0, "on_failure"))
    steps: dict[str, tuple[StepPlan, ...]] = {
        "deploy": (
            _step(
                "push",
                "shell",
                False,
                HostPlan("web1", "echo one\necho two", "check mode"),
                HostPlan("db", ""),
            ),
        ),
        "rollback": (_step("undo", "command", True, HostPlan("web1", "revert hunter2")),),
    }
    plan = DrillPlan(playbook, steps, {})
    assert _text(plan, SecretMask(["hunter2"])) == (
        "drill: web-rollback (rollback type 2, budget 300s)\n"
        "hosts: web1, db\n"
        "rollback: on_failure\n"
        "\nprepare: (no steps)\n"
        "\ndeploy:\n"
        "  - push (shell)  # drill.yml:4:5\n"
        "      web1: echo one   (check mode)\n"
        "            echo two\n"
        "      db: \n"
        "\ninject: (no steps)\n"
        "\nrollback:\n"
        "  - undo (command) [run_once]  # drill.yml:4:5\n"
        "      web1: revert ********\n"
        "\nverify: (no steps)\n"
        "\ncleanup: (no steps)\n"
    )


def test_a_plan_with_no_budget_and_no_hosts_says_so() -> None:
    playbook = cast(Playbook, _Playbook("forward", 5, None, "never"))
    assert _text(DrillPlan(playbook, {}, {})) == (
        "drill: forward (rollback type 5, fix forward only)\n"
        "hosts: (none)\n"
        "rollback: never\n"
        "\nprepare: (no steps)\n"
        "\ndeploy: (no steps)\n"
        "\ninject: (no steps)\n"
        "\nrollback: (no steps)\n"
        "\nverify: (no steps)\n"
        "\ncleanup: (no steps)\n"
    )
