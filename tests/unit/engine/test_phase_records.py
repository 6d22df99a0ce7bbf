"""What a phase leaves behind: the `step_failed` trigger and its words, which failures start
no rollback, the hosts a fault hit (and its seed), a step left without hosts, and each
phase's times in the journal and in result.json.

Each drill runs in this process against a fake target (tests/fakes): `ok NAME` succeeds,
`fail NAME` exits 1, `fault-on`/`fault-off` set and clear a marker.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.connection import Call, FakeTarget
from tests.fakes.engine import InProcessRun, run_drill, write_inventory

HOSTS = ("web1", "web2", "web3")


def drill(tmp_path: Path, text: str, **request: Any) -> tuple[InProcessRun, FakeTarget]:
    target = FakeTarget()
    inventory = write_inventory(tmp_path, {h: {} for h in HOSTS})
    return run_drill(text, tmp_path, target, inventory=inventory, **request), target


def events(run: InProcessRun, kind: str) -> list[dict[str, Any]]:
    return [e for e in run.events() if e["event"] == kind]


def ran_on(target: FakeTarget, word: str, name: str) -> list[str]:
    return [h for h, w, n in target.snapshot() if (w, n) == (word, name)]


# -- the step_failed trigger ------------------------------------------------------------------


def test_a_failed_change_step_names_its_first_failed_host_and_why(tmp_path: Path) -> None:
    text = (
        "drill: step failed\nrollback_type: 2\nmax_fail_percentage: 0\n"
        "deploy:\n  - {name: roll out, shell: fail roll-out, hosts: 'web2:web3'}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
    )
    run, _ = drill(tmp_path, text)
    trigger = run.outcome.trigger
    assert trigger is not None
    assert (trigger.kind, trigger.phase, trigger.step, trigger.host) == (
        "step_failed",
        "deploy",
        "roll out",
        "web2",
    )
    detail = "step 'roll out' failed in deploy on web2: exit code 1"
    assert trigger.detail == detail
    outcome = run.outcome
    assert outcome.started_at <= trigger.at <= outcome.ended_at
    assert outcome.started_mono <= trigger.mono <= outcome.ended_mono
    [fired] = events(run, "trigger_fired")
    assert (fired["kind"], fired["host"], fired["detail"]) == ("step_failed", "web2", detail)
    assert f"rollback triggered: {detail}" in run.view.notices
    # The terminal shows each host's result as it comes.
    lines = [line.split() for line in run.view.text.splitlines()]
    assert ["FAILED", "web2", "roll", "out"] in [words[:4] for words in lines]


def test_a_failed_cleanup_step_does_not_replace_the_trigger(tmp_path: Path) -> None:
    text = (
        "drill: cleanup fails\nrollback_type: 2\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "cleanup:\n  - {name: tidy, shell: fail tidy}\n  - {name: tidy more, shell: ok more}\n"
    )
    run, target = drill(tmp_path, text)
    assert [e["kind"] for e in events(run, "trigger_fired")] == ["rehearsal"]
    trigger = run.outcome.trigger
    assert trigger is not None and trigger.kind == "rehearsal"
    assert target.ran("more")


@pytest.mark.parametrize("phase", ["prepare", "cleanup"])
def test_a_failure_outside_the_change_and_verify_starts_no_rollback(
    tmp_path: Path, phase: str
) -> None:
    text = (
        "drill: no trigger\nrollback_type: 2\nrollback_when: failure\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
        f"{phase}:\n  - {{name: broken, shell: fail broken}}\n"
    )
    run, target = drill(tmp_path, text)
    assert events(run, "trigger_fired") == []
    assert run.outcome.trigger is None
    assert not run.outcome.rolled_back and not target.ran("undo")


# -- the hosts a fault hits -------------------------------------------------------------------


def test_a_fault_with_a_blast_radius_records_the_hosts_it_hit_and_its_seed(
    tmp_path: Path,
) -> None:
    text = (
        "drill: blast radius\nrollback_type: 2\n"
        "deploy:\n  - {name: change, shell: ok change}\n"
        "inject:\n"
        "  - name: half down\n"
        "    fault: {kind: custom, name: down, inject: 'fault-on down', "
        "revert: 'fault-off down', check: 'fault-check down', count: 2, random: true, seed: 7}\n"
        # A step whose arguments are a mapping too, as a fault's are.
        "  - {name: after, shell: {cmd: ok after}}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )
    run, target = drill(tmp_path, text)
    [chosen] = events(run, "fault_targets")
    hit = sorted(ran_on(target, "fault-on", "down"))
    assert len(hit) == 2 and set(hit) < set(HOSTS)
    assert (chosen["step"], sorted(chosen["hosts"]), chosen["seed"]) == ("half down", hit, 7)
    # Steps that are not faults run on all their hosts, and record no targets.
    assert sorted(ran_on(target, "ok", "after")) == list(HOSTS)
    assert run.exit_code == 0


def test_a_fault_without_a_blast_radius_hits_every_host_and_has_no_seed(tmp_path: Path) -> None:
    text = (
        "drill: every host\nrollback_type: 2\n"
        "inject:\n"
        "  - name: all down\n"
        "    fault: {kind: custom, name: down, inject: 'fault-on down', "
        "revert: 'fault-off down', check: 'fault-check down'}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
    )
    run, target = drill(tmp_path, text)
    [chosen] = events(run, "fault_targets")
    assert (chosen["step"], sorted(chosen["hosts"]), chosen["seed"]) == (
        "all down",
        list(HOSTS),
        None,
    )
    assert sorted(ran_on(target, "fault-on", "down")) == list(HOSTS)


# -- a step left without hosts ----------------------------------------------------------------


def test_a_step_whose_hosts_all_dropped_out_is_passed_over_and_the_phase_goes_on(
    tmp_path: Path,
) -> None:
    # web1 fails within max_fail_percentage: it drops out of the rest of the change, so the
    # next step, on web1 only, has no host left; the step after it still runs.
    text = (
        "drill: dropped\nrollback_type: 2\nrollback_when: failure\nmax_fail_percentage: 100\n"
        "deploy:\n"
        "  - {name: first, shell: fail first, hosts: web1}\n"
        "  - {name: only web1, shell: ok only-web1, hosts: web1}\n"
        "  - {name: everyone, shell: ok everyone}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
    )
    run, target = drill(tmp_path, text)
    assert ran_on(target, "ok", "only-web1") == []
    assert sorted(ran_on(target, "ok", "everyone")) == ["web2", "web3"]
    [deploy] = [p for p in run.outcome.phases if p.phase == "deploy"]
    assert [s.step.name for s in deploy.steps] == ["first", "everyone"]


# -- each phase's times -----------------------------------------------------------------------


def test_each_phase_is_dated_within_the_run_in_the_journal_and_the_result(
    tmp_path: Path,
) -> None:
    text = (
        "drill: times\nrollback_type: 2\n"
        "prepare:\n  - {name: p, shell: ok p}\n"
        "deploy:\n  - {name: d, shell: ok d}\n"
        "rollback:\n  - {name: r, shell: ok r}\n"
        "verify:\n  - {name: v, shell: ok v}\n"
        "cleanup:\n  - {name: c, shell: ok c}\n"
    )
    run, _ = drill(tmp_path, text)
    outcome = run.outcome
    total = outcome.ended_mono - outcome.started_mono
    started = {e["phase"]: e["started_at"] for e in events(run, "phase_started")}
    finished = {e["phase"]: e["duration_s"] for e in events(run, "phase_finished")}
    shown = {p["phase"]: p for p in run.result()["phases"]}
    ran = [p for p in outcome.phases if p.ran]
    assert [p.phase for p in ran] == list(started) == list(finished)
    # The terminal says when each phase starts.
    said = [line for line in run.view.text.splitlines() if line.startswith("▸")]
    assert said == [f"▸ {p.phase}" for p in ran]
    for phase in ran:
        assert outcome.started_mono <= phase.started_mono <= outcome.ended_mono
        assert 0.0 <= phase.duration_s <= total
        assert outcome.started_at <= phase.started_at <= outcome.ended_at
        assert started[phase.phase] == phase.started_at == shown[phase.phase]["started_at"]
        # The journal keeps the very number result.json rounds.
        assert finished[phase.phase] == phase.duration_s
        assert shown[phase.phase]["duration_s"] == round(phase.duration_s, 3)


# -- how many hosts at once -------------------------------------------------------------------


def test_a_step_runs_on_at_most_forks_hosts_at_once(tmp_path: Path) -> None:
    target = FakeTarget()
    lock = threading.Lock()
    running: list[str] = []
    overlapped: list[tuple[str, ...]] = []

    def each_host(call: Call) -> None:
        with lock:
            running.append(call.host)
        # Long enough for a second host's command to start, were one allowed to.
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            with lock:
                if len(running) > 1:
                    overlapped.append(tuple(running))
                    break
            time.sleep(0.01)
        with lock:
            running.remove(call.host)

    target.on("everyone", each_host)
    inventory = write_inventory(tmp_path, {h: {} for h in HOSTS})
    text = (
        "drill: forks\nrollback_type: 2\nforks: 1\n"
        "deploy:\n  - {name: everyone, shell: ok everyone}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
    )
    run = run_drill(text, tmp_path, target, inventory=inventory)
    assert sorted(ran_on(target, "ok", "everyone")) == list(HOSTS)
    assert overlapped == []
    assert run.exit_code == 0


def test_a_host_that_failed_in_deploy_is_left_out_of_inject_not_of_the_rollback(
    tmp_path: Path,
) -> None:
    # web1 cannot be reached in deploy: 1 host of 3, within max_fail_percentage.
    text = (
        "drill: dropped from the change\nrollback_type: 2\nmax_fail_percentage: 50\n"
        "deploy:\n  - {name: first, shell: ok first}\n"
        "inject:\n  - {name: chaos, shell: ok chaos}\n"
        "rollback:\n  - {name: undo, shell: ok undo}\n"
        "verify:\n  - {name: check, shell: ok check}\n"
        "cleanup:\n  - {name: tidy, shell: ok tidy}\n"
    )
    target = FakeTarget()
    target.unreachable.add("web1")
    inventory = write_inventory(tmp_path, {h: {} for h in HOSTS})
    run = run_drill(text, tmp_path, target, inventory=inventory)
    assert sorted(ran_on(target, "ok", "first")) == ["web2", "web3"]
    assert sorted(ran_on(target, "ok", "chaos")) == ["web2", "web3"]
    # Inject is not even tried on web1; rollback, verify and cleanup are, on every host.
    tried = {
        s.step.name: sorted(h.host for h in s.hosts) for p in run.outcome.phases for s in p.steps
    }
    everyone, dropped = list(HOSTS), ["web2", "web3"]
    assert tried == {
        "first": everyone,
        "chaos": dropped,
        "undo": everyone,
        "check": everyone,
        "tidy": everyone,
    }
