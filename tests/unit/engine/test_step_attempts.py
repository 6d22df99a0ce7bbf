"""One step on one host: `when`, `loop`, `retries`/`until`, `register` and the host's status.

Each rule decides whether work ran and what the evidence says about it: a skipped step is
never ok, a condition that cannot be evaluated fails the step, an `until` that is never met
fails it after the last attempt, and what `register:` keeps is what later steps decide on.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from runner.actions.base import ActionOutcome, Undo
from runner.connections.base import CancelToken
from runner.engine.steps import registered_value
from runner.inventory.model import Host
from tests.unit.engine.step_harness import ScriptedAction, StepBench, bench_fixture, step


def only(bench: StepBench, name: str = "h1", **host_vars: object) -> list[Host]:
    return bench.hosts(name, **host_vars)


# --- register -------------------------------------------------------------------------


def test_a_registered_result_holds_the_outcome_ansible_shaped() -> None:
    failed = ActionOutcome(
        False, "exit code 3", 3, "one\ntwo\n", "oops", {"changed": True}, timed_out=True
    )
    assert registered_value(failed) == {
        "rc": 3,
        "stdout": "one\ntwo\n",
        "stderr": "oops",
        "stdout_lines": ["one", "two"],
        "msg": "exit code 3",
        "failed": True,
        "ok": False,
        "timed_out": True,
        "changed": True,
    }
    good = registered_value(ActionOutcome(True, "done", 0, "", "", {"msg": "from the action"}))
    assert (good["ok"], good["failed"], good["timed_out"], good["stdout_lines"]) == (
        True,
        False,
        False,
        [],
    )
    # What the action reports itself wins over the generic fields.
    assert good["msg"] == "from the action"


def test_register_keeps_each_hosts_own_result_for_later_steps(bench: StepBench) -> None:
    hosts = bench.hosts("h1", word="ok") + bench.hosts("h2", word="fail")
    result = bench.run(step("probe", args="{{ word }} probe", register="out"), hosts)
    assert [h.status for h in result.hosts] == ["ok", "failed"]
    assert bench.env.registered["h1"]["out"] == {
        "rc": 0,
        "stdout": "ok probe\n",
        "stderr": "",
        "stdout_lines": ["ok probe"],
        "msg": "",
        "failed": False,
        "ok": True,
        "timed_out": False,
    }
    assert bench.env.registered["h2"]["out"]["rc"] == 1
    assert bench.env.registered["h2"]["out"]["failed"] is True
    assert bench.env.registered["h2"]["out"]["msg"] == "exit code 1"
    # A later step reads the registered value of its own host.
    check = step("check", "assert", "out.rc == 0")
    after = bench.run(check, hosts)
    assert [(h.status, h.msg) for h in after.hosts] == [
        ("ok", "all assertions passed"),
        ("failed", "assertion failed: out.rc == 0"),
    ]


def test_a_step_without_register_keeps_nothing(bench: StepBench) -> None:
    bench.run(step("quiet"), only(bench))
    assert bench.env.registered == {}


def test_registered_values_override_host_vars_and_extra_vars_override_both(
    tmp_path: Path,
) -> None:
    # `static_vars` already hold the extra vars' values (they are resolved into them).
    gen = bench_fixture(
        tmp_path,
        static_vars={"h1": {"v": "static", "x": "extra", "kept": 1}},
        extra_vars={"x": "extra"},
    )
    bench = next(gen)
    try:
        bench.env.registered["h1"] = {"v": "registered", "x": "registered", "new": 2}
        h1 = bench.hosts("h1")[0]
        assert bench.env.variables(h1) == {"v": "registered", "x": "extra", "kept": 1, "new": 2}
    finally:
        gen.close()


# --- when -------------------------------------------------------------------------------


def test_a_false_when_skips_the_host_and_names_the_condition(bench: StepBench) -> None:
    hosts = bench.hosts("h1", go=True, also=True) + bench.hosts("h2", go=True, also=False)
    result = bench.run(step("gated", when=("go", "also")), hosts)
    assert [(h.host, h.status, h.msg) for h in result.hosts] == [
        ("h1", "ok", ""),
        ("h2", "skipped", "when: also is false"),
    ]
    assert [h for h, _, _ in bench.target.snapshot()] == ["h1"]
    skipped = result.hosts[1]
    assert (skipped.rc, skipped.stdout, skipped.stderr, skipped.attempts) == (None, "", "", 1)


def test_a_step_skipped_on_every_host_is_skipped_not_ok(bench: StepBench) -> None:
    result = bench.run(step("gated", when=(False,)), bench.hosts("h1", "h2"))
    assert result.status == "skipped" and not result.failed
    assert bench.target.snapshot() == []
    finished = bench.events("step_finished")
    assert [e["status"] for e in finished] == ["skipped"]


def test_a_when_that_cannot_be_evaluated_fails_the_host(bench: StepBench) -> None:
    result = bench.run(step("gated", when=("missing.attr",)), only(bench))
    [h1] = result.hosts
    assert (h1.status, h1.msg) == ("failed", "undefined variable: 'missing' is undefined")
    assert result.failed and bench.target.snapshot() == []


def test_a_when_that_fails_after_an_interrupt_is_interrupted_not_failed(
    bench: StepBench,
) -> None:
    bench.cancel.cancel("SIGINT")
    [h1] = bench.run(step("gated", when=("missing.attr",)), only(bench)).hosts
    assert h1.status == "interrupted"


# --- loop -------------------------------------------------------------------------------


def test_a_loop_runs_each_rendered_item_in_order(bench: StepBench) -> None:
    looped = step("each", args="ok {{ item }}", loop=["a-{{ n }}", "b-{{ n }}"], register="out")
    result = bench.run(looped, only(bench, n=7))
    assert bench.target.names() == ["ok a-7", "ok b-7"]
    [h1] = result.hosts
    assert (h1.status, h1.summary, h1.stdout) == ("ok", "ok b-7", "ok b-7\n")
    out = bench.env.registered["h1"]["out"]
    assert [r["stdout"] for r in out["results"]] == ["ok a-7\n", "ok b-7\n"]
    # The top-level fields are the last item's.
    assert out["stdout"] == "ok b-7\n"


def test_only_a_loop_defines_item(bench: StepBench) -> None:
    [h1] = bench.run(step("plain", "assert", "item is not defined"), only(bench)).hosts
    assert (h1.status, h1.msg) == ("ok", "all assertions passed")
    [h1] = bench.run(step("each", "assert", "item == 1", loop=[1]), only(bench)).hosts
    assert (h1.status, h1.msg) == ("ok", "all assertions passed")


def test_a_loop_given_as_an_expression_is_evaluated(bench: StepBench) -> None:
    looped = step("each", args="ok {{ item }}", loop="names")
    bench.run(looped, only(bench, names=["x", "y"]))
    assert bench.target.names() == ["ok x", "ok y"]


def test_a_loop_stops_at_its_first_failed_item(bench: StepBench) -> None:
    looped = step("each", args="{{ item }}", loop=["ok one", "fail two", "ok three"], register="r")
    [h1] = bench.run(looped, only(bench)).hosts
    assert bench.target.names() == ["ok one", "fail two"]
    assert (h1.status, h1.msg, h1.rc) == ("failed", "exit code 1", 1)
    assert [r["ok"] for r in bench.env.registered["h1"]["r"]["results"]] == [True, False]


def test_an_empty_loop_is_skipped_and_registers_that_nothing_ran(bench: StepBench) -> None:
    looped = step("each", loop="[]", register="out")
    [h1] = bench.run(looped, only(bench)).hosts
    assert (h1.status, h1.msg) == ("skipped", "loop has no items")
    assert bench.env.registered["h1"]["out"] == {
        "results": [],
        "skipped": True,
        "msg": "loop has no items",
    }
    assert bench.target.snapshot() == []


def test_an_empty_loop_without_register_keeps_nothing(bench: StepBench) -> None:
    [h1] = bench.run(step("each", loop=[]), only(bench)).hosts
    assert h1.status == "skipped"
    assert bench.env.registered == {}


def test_a_loop_that_gives_no_list_fails_the_host(bench: StepBench) -> None:
    [h1] = bench.run(step("each", loop="3"), only(bench)).hosts
    assert (h1.status, h1.msg) == ("failed", "loop must give a list, got int")
    [h1] = bench.run(step("each", loop=("a", "b")), only(bench)).hosts
    assert h1.status == "ok"


# --- retries and until ------------------------------------------------------------------


def ok(stdout: str) -> ActionOutcome:
    return ActionOutcome(True, "", 0, stdout, "")


def test_until_retries_until_its_condition_holds(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [ok("wait"), ok("wait"), ok("ready")]
    until = step("poll", "scripted", {}, retries=5, until="result.stdout == 'ready'")
    [h1] = bench.run(until, only(bench)).hosts
    assert (h1.status, h1.attempts, h1.stdout) == ("ok", 3, "ready")
    [event] = bench.events("host_result")
    assert event["attempts"] == 3


def test_until_reads_the_registered_name(bench: StepBench, scripted: ScriptedAction) -> None:
    scripted.outcomes = [ok("wait"), ok("ready")]
    until = step("poll", "scripted", {}, retries=3, until="out.stdout == 'ready'", register="out")
    [h1] = bench.run(until, only(bench)).hosts
    assert (h1.status, h1.attempts) == ("ok", 2)
    assert bench.env.registered["h1"]["out"]["stdout"] == "ready"


def test_an_until_never_met_fails_after_the_last_attempt_keeping_the_output(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [
        ActionOutcome(True, "", 0, "wait", "slow", {"changed": False}) for _ in range(3)
    ]
    until = step("poll", "scripted", {}, retries=2, until="r.stdout == 'ready'", register="r")
    [h1] = bench.run(until, only(bench)).hosts
    assert (h1.status, h1.msg, h1.attempts) == ("failed", "until not met: r.stdout == 'ready'", 3)
    assert (h1.rc, h1.stdout, h1.stderr, dict(h1.data)) == (0, "wait", "slow", {"changed": False})
    assert len(scripted.contexts) == 3
    registered = bench.env.registered["h1"]["r"]
    assert (registered["ok"], registered["failed"], registered["msg"]) == (
        False,
        True,
        "until not met: r.stdout == 'ready'",
    )


def test_an_until_that_cannot_be_evaluated_fails_at_once(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    until = step("poll", "scripted", {}, retries=4, until="out.nope.deeper", register="out")
    [h1] = bench.run(until, only(bench)).hosts
    assert h1.status == "failed"
    assert h1.msg.startswith("until: ") and "nope" in h1.msg
    registered = bench.env.registered["h1"]["out"]
    assert (registered["ok"], registered["failed"], registered["msg"]) == (False, True, h1.msg)
    assert (h1.attempts, len(scripted.contexts)) == (1, 1)


def test_an_until_met_by_a_failed_outcome_still_fails(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [ActionOutcome(False, "exit code 2", 2)]
    until = step("poll", "scripted", {}, retries=3, until="result.rc == 2")
    [h1] = bench.run(until, only(bench)).hosts
    assert (h1.status, h1.msg, h1.attempts) == ("failed", "exit code 2", 1)


def test_retries_without_until_retry_a_failure_and_stop_at_success(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [ActionOutcome(False, "exit code 1", 1), ok("fine"), ok("never")]
    [h1] = bench.run(step("flaky", "scripted", {}, retries=5), only(bench)).hosts
    assert (h1.status, h1.attempts, h1.stdout) == ("ok", 2, "fine")
    assert len(scripted.contexts) == 2


def test_retries_stop_after_one_plus_retries_attempts(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [ActionOutcome(False, f"exit code {n}", n) for n in (1, 2, 3, 4)]
    [h1] = bench.run(step("flaky", "scripted", {}, retries=2), only(bench)).hosts
    assert (h1.status, h1.msg, h1.attempts) == ("failed", "exit code 3", 3)


def test_a_step_without_retries_runs_once(bench: StepBench, scripted: ScriptedAction) -> None:
    scripted.outcomes = [ActionOutcome(False, "exit code 1", 1), ok("later")]
    [h1] = bench.run(step("once", "scripted", {}), only(bench)).hosts
    assert (h1.status, h1.attempts) == ("failed", 1)


def test_retries_wait_their_delay_between_attempts(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [ActionOutcome(False, "no", 1), ok("yes")]
    started = time.monotonic()
    [h1] = bench.run(step("flaky", "scripted", {}, retries=1, delay_s=0.3), only(bench)).hosts
    assert h1.attempts == 2 and time.monotonic() - started >= 0.3


class InterruptedWhileWaiting(CancelToken):
    """A token that an operator's signal cancels shortly after a retry's delay begins."""

    def wait(self, seconds: float) -> bool:
        threading.Timer(0.05, self.cancel, args=("stopped by SIGINT",)).start()
        return super().wait(seconds)


def test_an_interrupt_during_the_delay_stops_the_retries(
    tmp_path: Path, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [ActionOutcome(False, "exit code 1", 1)] * 3
    gen = bench_fixture(tmp_path, cancel=InterruptedWhileWaiting())
    bench = next(gen)
    try:
        started = time.monotonic()
        flaky = step("flaky", "scripted", {}, retries=2, delay_s=30, register="out")
        [h1] = bench.run(flaky, only(bench)).hosts
        assert time.monotonic() - started < 10
        assert (h1.status, h1.msg, h1.attempts) == ("interrupted", "stopped by SIGINT", 1)
        assert len(scripted.contexts) == 1
        # What a later step (cleanup) reads: the retries were interrupted, nothing succeeded.
        out = bench.env.registered["h1"]["out"]
        assert (out["ok"], out["failed"], out["msg"], out["rc"]) == (
            False,
            True,
            "interrupted",
            None,
        )
    finally:
        gen.close()


def test_a_failure_after_an_interrupt_ends_the_retries_as_interrupted(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [ActionOutcome(False, "exit code 1", 1)] * 3
    scripted.on_execute = lambda ctx: ctx.cancel.cancel("stopped by SIGTERM")
    flaky = step("flaky", "scripted", {}, retries=2, delay_s=30, register="out")
    [h1] = bench.run(flaky, only(bench)).hosts
    assert (h1.status, h1.msg, h1.attempts, h1.rc) == ("interrupted", "stopped by SIGTERM", 1, 1)
    # The attempt's own result is what was registered.
    out = bench.env.registered["h1"]["out"]
    assert (out["ok"], out["msg"], out["rc"]) == (False, "exit code 1", 1)


def test_a_cancelled_outcome_is_interrupted_and_its_until_is_not_read(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    scripted.outcomes = [ActionOutcome(False, "interrupted", -15, cancelled=True)]
    until = step("poll", "scripted", {}, retries=3, until="result.nope.deeper")
    [h1] = bench.run(until, only(bench)).hosts
    # The token was never cancelled here: the outcome's own message stays.
    assert (h1.status, h1.msg, h1.attempts) == ("interrupted", "interrupted", 1)


# --- status and what the host result carries -----------------------------------------------


def test_ignore_errors_marks_a_failure_ignored_not_ok(bench: StepBench) -> None:
    result = bench.run(step("try", args="fail try", ignore_errors=True), only(bench))
    [h1] = result.hosts
    assert (h1.status, h1.msg, h1.rc) == ("ignored", "exit code 1", 1)
    assert result.status == "ignored" and not result.failed
    [h1] = bench.run(step("fine", ignore_errors=True), only(bench)).hosts
    assert h1.status == "ok"


def test_a_host_result_carries_the_outcome_and_every_undo(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    first, second = Undo("shell", {"cmd": "ok undo-a"}), Undo("shell", {"cmd": "ok undo-b"})
    scripted.outcomes = [
        ActionOutcome(True, "a", 0, "out-a", "", {"changed": True}, undo=first),
        ActionOutcome(True, "b", 0, "out-b", "", {"changed": True}),
        ActionOutcome(False, "c failed", 5, "out-c", "err-c", {"changed": True}, undo=second),
    ]
    looped = step("change", "scripted", {}, loop=["a", "b", "c"])
    before = time.monotonic()
    [h1] = bench.run(looped, only(bench)).hosts
    assert before <= h1.started_mono <= h1.started_mono + h1.duration_s <= time.monotonic()
    assert (h1.status, h1.msg, h1.rc, h1.stdout, h1.stderr) == (
        "failed",
        "c failed",
        5,
        "out-c",
        "err-c",
    )
    # What changed must be undoable even though the step then failed.
    assert h1.undos == (first, second)
    assert dict(h1.data) == {"changed": True}
    assert (h1.summary, h1.attempts) == ("scripted on h1", 1)
    assert h1.started_at.endswith("Z") and h1.duration_s > 0
