"""One step across its hosts: which hosts run it, with what, and what the journal says.

`run_once` runs on the first host and shares its registered result; `forks` bounds the
hosts at once; an unreachable host is reported as such; every host result is journaled
with the step it belongs to, its output masked and cut to its tail; the action sees the
step's variables, timeout, `become` and its rendered arguments.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from runner.actions import ACTIONS
from runner.actions.base import ActionContext, ActionOutcome
from runner.connections.base import CancelToken, CommandResult, CommandSpec, Connection
from runner.connections.local import LocalConnection
from runner.engine.steps import OUTPUT_KEEP
from runner.inventory.model import Host
from runner.journal_events import Event
from tests.fakes.connection import Call, FakeConnection, FakeTarget
from tests.unit.engine.step_harness import (
    ScriptedAction,
    StepBench,
    bench_fixture,
    host,
    step,
)


class Concurrency:
    """How many hosts run a command at once: each holds it until a second host runs it too,
    or for `hold_s` at most, so that hosts allowed to overlap do, however loaded the machine."""

    def __init__(self, hold_s: float = 0.25) -> None:
        self.hold_s = hold_s
        self.running = 0
        self.most = 0
        self.threads: list[threading.Thread] = []
        self._changed = threading.Condition()

    def __call__(self, call: Call) -> None:
        with self._changed:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.append(threading.current_thread())
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.running >= 2, timeout=self.hold_s)
            self.running -= 1


# --- which hosts run ------------------------------------------------------------------


def test_run_once_runs_on_the_first_host_and_shares_its_registered_result(
    bench: StepBench,
) -> None:
    hosts = bench.hosts("h1", "h2", "h3")
    result = bench.run(step("once", run_once=True, register="out", index=4), hosts)
    assert [h for h, _, _ in bench.target.snapshot()] == ["h1"]
    assert [h.host for h in result.hosts] == ["h1"]
    first = bench.env.registered["h1"]["out"]
    assert first["stdout"] == "ok once\n"
    assert bench.env.registered["h2"]["out"] == first
    assert bench.env.registered["h3"]["out"] == first
    [started] = bench.events("step_started")
    assert (started["hosts"], started["index"], started["step"]) == (["h1"], 4, "once")


def test_run_once_on_an_unreachable_first_host_shares_that_it_was_unreachable(
    bench: StepBench,
) -> None:
    bench.target.unreachable.add("h1")
    result = bench.run(step("once", run_once=True, register="out"), bench.hosts("h1", "h2"))
    assert [(h.host, h.status) for h in result.hosts] == [("h1", "unreachable")]
    first = bench.env.registered["h1"]["out"]
    assert (first["unreachable"], first["failed"], first["ok"]) == (True, True, False)
    assert first["msg"] == "h1: connection refused (fake target)"
    assert "rc" not in first and "stdout" not in first
    assert bench.env.registered["h2"] == {"out": first}
    assert bench.target.snapshot() == []


def test_an_unreachable_host_registers_that_it_was_unreachable(bench: StepBench) -> None:
    bench.target.unreachable.add("h2")
    bench.run(step("each", register="out"), bench.hosts("h1", "h2"))
    assert bench.env.registered["h1"]["out"]["rc"] == 0
    assert bench.env.registered["h2"]["out"]["unreachable"] is True


def test_an_unreachable_host_without_register_registers_nothing(bench: StepBench) -> None:
    bench.target.unreachable.add("h1")
    bench.run(step("each"), bench.hosts("h1"))
    assert bench.env.registered == {}


def test_run_once_without_register_shares_nothing(bench: StepBench) -> None:
    bench.run(step("once", run_once=True), bench.hosts("h1", "h2"))
    assert bench.env.registered == {}


def test_without_run_once_every_host_runs_and_keeps_its_own_result(bench: StepBench) -> None:
    hosts = bench.hosts("h1", word="ok") + bench.hosts("h2", word="fail")
    result = bench.run(step("all", args="{{ word }} all", register="out"), hosts)
    assert sorted(h for h, _, _ in bench.target.snapshot()) == ["h1", "h2"]
    assert [h.host for h in result.hosts] == ["h1", "h2"]
    assert bench.env.registered["h2"]["out"]["rc"] == 1


@pytest.mark.parametrize(("forks", "most"), [(1, 1), (0, 1), (2, 2)])
def test_forks_bound_the_hosts_that_run_at_once(tmp_path: Path, forks: int, most: int) -> None:
    gen = bench_fixture(tmp_path, forks=forks)
    bench = next(gen)
    try:
        concurrency = Concurrency()
        bench.target.on("busy", concurrency)
        result = bench.run(step("busy"), bench.hosts("h1", "h2"))
        assert [h.status for h in result.hosts] == ["ok"] * 2
        assert concurrency.most == most
    finally:
        gen.close()


def test_one_local_host_runs_here_and_a_remote_one_in_a_worker(tmp_path: Path) -> None:
    target = FakeTarget()
    factories = {"local": target.connection, "ssh": target.connection}
    gen = bench_fixture(tmp_path, target=target, factories=factories)
    bench = next(gen)
    try:
        concurrency = Concurrency(hold_s=0.0)
        target.on("where", concurrency)
        bench.static_vars.update({"local1": {}, "remote1": {}})
        bench.run(step("where"), [host("local1")])
        bench.run(step("where"), [host("remote1", "ssh")])
        local_thread, remote_thread = concurrency.threads
        # No blocking library call of a remote host may hold the main thread (Ctrl-C).
        assert local_thread is threading.current_thread()
        assert remote_thread is not threading.current_thread()
        assert remote_thread.name.startswith("host_")
    finally:
        gen.close()


def test_closing_the_runner_leaves_no_worker_thread_behind(bench: StepBench) -> None:
    before = set(threading.enumerate())
    bench.run(step("fan"), bench.hosts("h1", "h2", "h3"))
    bench.runner.close()
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert [t for t in left if not t.daemon] == []


def test_an_unreachable_host_is_reported_unreachable_and_the_others_run(
    bench: StepBench,
) -> None:
    bench.target.unreachable.add("h2")
    before = time.monotonic()
    result = bench.run(step("reach"), bench.hosts("h1", "h2", "h3"))
    assert [(h.host, h.status) for h in result.hosts] == [
        ("h1", "ok"),
        ("h2", "unreachable"),
        ("h3", "ok"),
    ]
    down = result.hosts[1]
    assert down.msg == "h2: connection refused (fake target)"
    # The time spent trying to reach it was measured, not left at 0.
    assert down.started_at.endswith("Z") and 0 < down.duration_s < 5
    assert before <= down.started_mono <= time.monotonic()
    assert result.status == "failed" and result.failed
    events = {e["host"]: e for e in bench.events("host_result")}
    assert (events["h2"]["status"], events["h2"]["msg"]) == ("unreachable", down.msg)


@pytest.mark.parametrize(
    ("tolerated", "ran", "skipped"),
    [
        pytest.param(0, ["h1"], ["h2", "h3"], id="none-tolerated"),
        pytest.param(40, ["h1", "h2", "h3"], [], id="one-of-three-tolerated"),
    ],
)
def test_serial_batches_stop_once_failures_cross_the_tolerated_share(
    tmp_path: Path, tolerated: float, ran: list[str], skipped: list[str]
) -> None:
    gen = bench_fixture(tmp_path, serial=1, max_fail_percentage=tolerated)
    bench = next(gen)
    try:
        hosts = bench.hosts("h1", word="fail") + bench.hosts("h2", "h3", word="ok")
        result = bench.run(step("change", args="{{ word }} change"), hosts)
        assert [h for h, _, _ in bench.target.snapshot()] == ran
        assert [h.host for h in result.hosts] == ["h1", "h2", "h3"]
        assert [(h.host, h.status, h.msg) for h in result.hosts if h.host in skipped] == [
            (name, "skipped", "an earlier batch failed") for name in skipped
        ]
        assert [e["host"] for e in bench.events("host_result")] == ran
    finally:
        gen.close()


def test_the_tolerated_share_of_failed_hosts_goes_with_the_step_result(tmp_path: Path) -> None:
    gen = bench_fixture(tmp_path, max_fail_percentage=50)
    bench = next(gen)
    try:
        hosts = bench.hosts("h1", word="ok") + bench.hosts("h2", word="fail")
        result = bench.run(step("half", args="{{ word }} half"), hosts)
        assert result.max_fail_percentage == 50
        assert result.status == "failed" and not result.failed
    finally:
        gen.close()


# --- what the journal and the terminal hear ------------------------------------------------


def test_a_step_is_journaled_from_its_start_to_its_end(bench: StepBench) -> None:
    hosts = bench.hosts("h1", word="ok") + bench.hosts("h2", word="fail")
    st = step("change", args="{{ word }} change", phase="inject", index=3)
    result = bench.run(st, hosts)
    kinds = [e["event"] for e in bench.events()]
    assert kinds[0] == "step_started" and kinds[-1] == "step_finished"
    assert sorted(kinds[1:-1]) == ["host_result", "host_result"]
    [started] = bench.events("step_started")
    assert {k: started[k] for k in ("phase", "index", "step", "action", "hosts")} == {
        "phase": "inject",
        "index": 3,
        "step": "change",
        "action": "shell",
        "hosts": ["h1", "h2"],
    }
    [finished] = bench.events("step_finished")
    assert {k: finished[k] for k in ("phase", "index", "step", "status")} == {
        "phase": "inject",
        "index": 3,
        "step": "change",
        "status": "failed",
    }
    assert finished["duration_s"] == result.duration_s
    assert 0 < result.duration_s < 5
    assert result.step is st
    assert result.started_at.endswith("Z") and result.started_mono > 0


def test_each_host_result_is_journaled_with_its_step_and_evidence(bench: StepBench) -> None:
    st = step("change", args="fail change", phase="deploy", index=2)
    [h1] = bench.run(st, bench.hosts("h1")).hosts
    [event] = bench.events("host_result")
    expected = {
        "phase": "deploy",
        "index": 2,
        "step": "change",
        "host": "h1",
        "status": "failed",
        "rc": 1,
        "msg": "exit code 1",
        "summary": "fail change",
        "attempts": 1,
        "started_at": h1.started_at,
        "duration_s": h1.duration_s,
        "stdout": "fail change\n",
        "stderr": "",
    }
    assert {k: event.get(k) for k in expected} == expected


def test_each_host_result_reaches_the_terminal_as_it_ends(bench: StepBench) -> None:
    result = bench.run(step("live"), bench.hosts("h1", "h2"))
    assert sorted((name, r.host) for name, r in bench.done) == [("live", "h1"), ("live", "h2")]
    assert sorted((r for _, r in bench.done), key=lambda r: r.host) == list(result.hosts)


def test_journaled_output_is_masked_then_cut_to_its_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = ScriptedAction()
    monkeypatch.setitem(ACTIONS, action.name, action)
    gen = bench_fixture(tmp_path, secrets=("hunter2",))
    bench = next(gen)
    try:
        long_out = "x" * 5000 + "pw=hunter2 END"
        long_err = "e" * 5000 + "hunter2"
        action.outcomes = [ActionOutcome(True, "", 0, long_out, long_err)]
        [h1] = bench.run(step("loud", "scripted", {}), bench.hosts("h1")).hosts
        [event] = bench.events("host_result")
        assert len(event["stdout"]) == OUTPUT_KEEP == 4096
        hidden = bench.journal.mask.mask("hunter2")
        assert hidden != "hunter2"
        assert event["stdout"] == ("x" * 5000 + f"pw={hidden} END")[-OUTPUT_KEEP:]
        assert event["stderr"] == ("e" * 5000 + hidden)[-OUTPUT_KEEP:]
        # The host result itself keeps the whole output.
        assert h1.stdout == long_out
    finally:
        gen.close()


# --- what the action is given ----------------------------------------------------------------


def test_expression_arguments_are_left_for_the_action_and_the_rest_is_rendered(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    hosts = bench.hosts("h1", n=2)
    bench.run(step("args", "scripted", {"expr": "{{ n }}", "say": "n={{ n }}"}), hosts)
    bench.run(step("text", "scripted", "say {{ n }}"), hosts)
    bench.run(step("list", "scripted", ["{{ n }}", 3]), hosts)
    assert scripted.args == [{"expr": "{{ n }}", "say": "n=2"}, "say 2", ["2", 3]]


def test_a_shorthand_expression_is_not_rendered_before_it_is_evaluated(bench: StepBench) -> None:
    # Rendered first, `'{{' in s` would be a template syntax error.
    [h1] = bench.run(step("check", "assert", "'{{' in s"), bench.hosts("h1", s="a{{b")).hosts
    assert (h1.status, h1.msg) == ("ok", "all assertions passed")


def test_arguments_that_do_not_render_or_plan_fail_the_host(bench: StepBench) -> None:
    hosts = bench.hosts("h1")
    [h1] = bench.run(step("bad", args="ok {{ missing }}", register="out"), hosts).hosts
    assert (h1.status, h1.msg, h1.summary) == (
        "failed",
        "undefined variable: 'missing' is undefined",
        "",
    )
    out = bench.env.registered["h1"]["out"]
    assert (out["ok"], out["failed"], out["msg"]) == (False, True, h1.msg)
    [h1] = bench.run(step("empty", args="  "), hosts).hosts
    assert (h1.status, h1.msg, h1.summary) == ("failed", "shell script is empty", "")
    assert bench.target.snapshot() == []


def test_the_action_gets_the_steps_variables_timeout_cancel_and_fault_ledger(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    ledger: Any = object()
    bench.env.injector = ledger
    hosts = bench.hosts("h1", n=5)
    bench.run(step("ctx", "scripted", {}, loop=["a"], timeout_s=7.5), hosts)
    [ctx] = scripted.contexts
    assert ctx.host == hosts[0]
    assert (ctx.variables["n"], ctx.variables["item"]) == (5, "a")
    assert ctx.timeout == 7.5
    assert ctx.cancel is bench.cancel
    assert ctx.injector is ledger
    assert ctx.templar is bench.env.templar
    # A controller-side action needs no connection to the target, `become` or not.
    assert ctx.connection is None
    bench.run(step("sudo", "scripted", {}, become=True, become_user="deploy"), hosts)
    assert scripted.contexts[-1].connection is None


def test_what_an_action_journals_is_tagged_with_its_step(
    bench: StepBench, scripted: ScriptedAction
) -> None:
    def record(ctx: ActionContext) -> None:
        assert ctx.record is not None
        ctx.record(Event.ANSIBLE_TASK, task="restart", status="ok")

    scripted.on_execute = record
    bench.run(step("nested", "scripted", {}, phase="rollback", index=6), bench.hosts("h1"))
    [event] = bench.events(str(Event.ANSIBLE_TASK))
    expected = {"task": "restart", "status": "ok", "phase": "rollback", "index": 6}
    assert {k: event[k] for k in expected} == expected
    assert event["step"] == "nested"


class SpecRecorder:
    """A connection that records every command it is given, then runs it on the fake target."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.specs: list[CommandSpec] = []

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        self.specs.append(spec)
        return self.inner.run(spec, timeout=timeout, cancel=cancel)

    def put(self, local_path: str, remote_path: str) -> None:
        self.inner.put(local_path, remote_path)

    def get(self, remote_path: str, local_path: str) -> None:
        self.inner.get(remote_path, local_path)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize(
    ("become", "become_user", "seen"),
    [
        pytest.param(None, None, (None, None), id="the-host-decides"),
        pytest.param(True, "deploy", (True, "deploy"), id="become-as-user"),
        pytest.param(False, None, (False, None), id="no-become"),
        pytest.param(None, "deploy", (None, "deploy"), id="user-only"),
    ],
)
def test_a_steps_own_become_goes_with_each_command(
    tmp_path: Path, become: bool | None, become_user: str | None, seen: tuple[Any, Any]
) -> None:
    target = FakeTarget()
    recorders: list[SpecRecorder] = []

    def factory(h: Host) -> Connection:
        recorders.append(SpecRecorder(FakeConnection(target, h.name)))
        return recorders[-1]

    gen = bench_fixture(tmp_path, target=target, factories={"local": factory})
    bench = next(gen)
    try:
        st = step("sudo", become=become, become_user=become_user, timeout_s=4.0)
        [h1] = bench.run(st, bench.hosts("h1")).hosts
        assert h1.status == "ok"
        [spec] = recorders[0].specs
        assert (spec.become, spec.become_user) == seen
    finally:
        gen.close()


def test_a_timeout_reaches_the_command(bench: StepBench) -> None:
    [h1] = bench.run(step("slow", args="hang slow", timeout_s=0.2), bench.hosts("h1")).hosts
    assert bench.target.names() == ["timed-out slow"]
    assert h1.status == "failed" and h1.rc == -9


# --- --diff ----------------------------------------------------------------------------------


def test_diff_shows_what_a_file_step_changed_and_only_then(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    conf = tmp_path / "app.conf"
    conf.write_text("a=1\n")
    diffs: list[tuple[str, str, str]] = []
    gen = bench_fixture(work, factories={"local": lambda h: LocalConnection()}, diffs=diffs)
    bench = next(gen)
    try:
        hosts = bench.hosts("h1")
        change = step("conf", "config", {"dest": str(conf), "content": "a=2\n"})
        [h1] = bench.run(change, hosts).hosts
        assert h1.status == "ok" and conf.read_text() == "a=2\n"
        [(name, on, diff)] = diffs
        assert (name, on) == ("conf", "h1")
        assert "-a=1" in diff and "+a=2" in diff
        # The same content again changes nothing: no diff is shown.
        [h1] = bench.run(change, hosts).hosts
        assert h1.status == "ok" and len(diffs) == 1
    finally:
        gen.close()


class TimeoutRecorder(LocalConnection):
    """The controller itself, keeping the timeout of every command it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def run(
        self, spec: CommandSpec, *, timeout: float | None, cancel: CancelToken
    ) -> CommandResult:
        self.timeouts.append(timeout)
        return super().run(spec, timeout=timeout, cancel=cancel)


def test_diff_renders_a_template_with_the_hosts_variables_within_the_steps_timeout(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    conf, template = tmp_path / "app.conf", tmp_path / "app.conf.j2"
    conf.write_text("a=1\n")
    template.write_text("a={{ n }}\n")
    diffs: list[tuple[str, str, str]] = []
    connection = TimeoutRecorder()
    gen = bench_fixture(work, factories={"local": lambda h: connection}, diffs=diffs)
    bench = next(gen)
    try:
        change = step("conf", "config", {"dest": str(conf), "src": str(template)}, timeout_s=7.0)
        [h1] = bench.run(change, bench.hosts("h1", n=2)).hosts
        assert (h1.status, conf.read_text()) == ("ok", "a=2\n")
        [(_, _, diff)] = diffs
        assert "-a=1" in diff and "+a=2" in diff
        # Every command, the diff's reads too, is bounded by the step's own timeout.
        assert connection.timeouts and all(t == 7.0 for t in connection.timeouts)
    finally:
        gen.close()


def test_without_diff_a_file_step_previews_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    conf = tmp_path / "app.conf"
    conf.write_text("a=1\n")
    gen = bench_fixture(work, factories={"local": lambda h: LocalConnection()})
    bench = next(gen)
    try:
        change = step("conf", "config", {"dest": str(conf), "content": "a=2\n"})
        [h1] = bench.run(change, bench.hosts("h1")).hosts
        assert (h1.status, conf.read_text()) == ("ok", "a=2\n")
    finally:
        gen.close()
