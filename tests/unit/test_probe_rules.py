"""The rules inside one probe worker, on a controlled clock and fake targets: what a check's
verdict, error and latency are, what a sample and its journal row hold, when the next sample
is due, which calls a data probe makes, and when a read-back retries, gives up and why."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

import runner.measure.probes as probes_module
from runner.actions.http import HttpResponse
from runner.connections.base import CancelToken, CommandResult, CommandSpec
from runner.connections.pool import HostUnreachable
from runner.inventory.model import Host
from runner.journal import Journal
from runner.measure.probes import ProbeInstance, ProbeRunner, prometheus_check, read_back
from runner.measure.prometheus import Judgement, Unanswered
from runner.measure.samples import AvailabilitySample
from runner.measure.specs import DataCall, DataProbe, ProbeSpec, PromExpect, ReadFormat
from runner.measure.workers import WorkerFailures
from runner.secrets import SecretMask
from runner.templating.templar import Templar

HOST = Host("web1", "10.9.8.7", "local", None, None, {}, ("all",))


class Clock:
    """time.monotonic and time.sleep for the probes module: time moves only when told."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(probes_module, "time", c)
    return c


class FakeConn:
    def __init__(self, result: CommandResult | Exception, clock: Clock | None, cost: float):
        self.result, self.clock, self.cost = result, clock, cost
        self.calls: list[tuple[CommandSpec, float, CancelToken]] = []

    def run(self, spec: CommandSpec, timeout: float, cancel: CancelToken) -> CommandResult:
        self.calls.append((spec, timeout, cancel))
        if self.clock is not None:
            self.clock.now += self.cost
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class FakePool:
    def __init__(self, conn: FakeConn | None = None, unreachable: str = "") -> None:
        self.conn, self.unreachable = conn, unreachable
        self.hosts: list[Host] = []

    def get(self, host: Host) -> FakeConn:
        self.hosts.append(host)
        if self.unreachable:
            raise HostUnreachable(self.unreachable)
        assert self.conn is not None
        return self.conn


def make_runner(
    tmp_path: Path, pool: Any = None, instances: list[ProbeInstance] | None = None, **kwargs: Any
) -> ProbeRunner:
    journal = Journal(tmp_path / "journal.jsonl", SecretMask(["s3cret"]))
    conns: Any = FakePool() if pool is None else pool  # a fake in the pool's place
    return ProbeRunner(instances or [], conns, Templar(), journal, **kwargs)


def journaled(tmp_path: Path, kind: str) -> list[dict[str, Any]]:
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == kind]


def strip(event: dict[str, Any]) -> dict[str, Any]:
    """The event's own fields, without the journal's envelope."""
    envelope = {"event", "ts", "seq", "prev", "hash", "t", "mono", "time"}
    return {k: v for k, v in event.items() if k not in envelope}


def check_instance(kind: str, request: Any, timeout: float = 2.0, **spec: Any) -> ProbeInstance:
    return ProbeInstance(ProbeSpec("health", 1.0, timeout, kind, **spec), HOST, request, {})


# -- call ---------------------------------------------------------------------------------


def test_a_shell_call_renders_with_the_host_variables_and_the_extras(tmp_path: Path) -> None:
    conn = FakeConn(CommandResult(0, "out\n", "err\n", 0.1), None, 0)
    pool = FakePool(conn)
    probes = make_runner(tmp_path, pool)
    instance = ProbeInstance(ProbeSpec("w"), HOST, None, {"table": "t1", "seq": 0})
    cancel = CancelToken()
    ok, output = probes.call(
        instance, "shell", "insert {{ table }} {{ seq }}", {"seq": 7}, 3.5, cancel
    )
    assert (ok, output) == (True, "out\nerr\n")
    [(spec, timeout, token)] = conn.calls
    assert spec.shell == "insert t1 7" and timeout == 3.5 and token is cancel
    assert pool.hosts == [HOST]


def test_a_shell_call_fails_on_a_nonzero_exit_with_its_whole_output(tmp_path: Path) -> None:
    probes = make_runner(tmp_path, FakePool(FakeConn(CommandResult(1, "o", "e", 0.1), None, 0)))
    assert probes.call(check_instance("command", None), "shell", "x", {}, 1.0, CancelToken()) == (
        False,
        "oe",
    )
    probes = make_runner(tmp_path, FakePool(FakeConn(CommandResult(2, "", "", 0.1), None, 0)))
    assert probes.call(check_instance("command", None), "shell", "x", {}, 1.0, CancelToken()) == (
        False,
        "",
    )


def test_a_timed_out_call_fails_and_quotes_the_last_200_characters(tmp_path: Path) -> None:
    out = "a" * 150 + "b" * 100
    result = CommandResult(0, out, "E" * 10, 0.5, timed_out=True)
    probes = make_runner(tmp_path, FakePool(FakeConn(result, None, 0)))
    ok, output = probes.call(check_instance("command", None), "shell", "x", {}, 0.5, CancelToken())
    assert ok is False
    assert output == "timed out after 0.5s: " + "a" * 90 + "b" * 100 + "E" * 10


def test_an_unreachable_host_or_a_bad_template_is_a_failed_call_with_the_reason(
    tmp_path: Path,
) -> None:
    probes = make_runner(tmp_path, FakePool(unreachable="web1: connection refused"))
    inst = check_instance("command", None)
    assert probes.call(inst, "shell", "x", {}, 1.0, CancelToken()) == (
        False,
        "web1: connection refused",
    )
    ok, why = probes.call(inst, "shell", "{{ nope.deeper }}", {}, 1.0, CancelToken())
    assert ok is False and "nope" in why


def test_an_http_call_answers_its_body_or_what_was_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[dict[str, Any], float | None]] = []
    answers = [HttpResponse(200, "body-ok", 0.01), HttpResponse(503, "down", 0.01)]

    def fake_send(params: dict[str, Any], timeout: float | None = None) -> HttpResponse:
        sent.append((params, timeout))
        return answers.pop(0)

    monkeypatch.setattr(probes_module, "send", fake_send)
    probes = make_runner(tmp_path)
    inst = ProbeInstance(ProbeSpec("w"), HOST, None, {"port": 8080})
    request = {"url": "http://127.0.0.1:{{ port }}/w/{{ seq }}", "method": "PUT"}
    assert probes.call(inst, "http", request, {"seq": 3}, 2.5, CancelToken()) == (True, "body-ok")
    assert sent[0][0]["url"] == "http://127.0.0.1:8080/w/3" and sent[0][0]["method"] == "PUT"
    assert sent[0][1] == 2.5
    assert probes.call(inst, "http", request, {"seq": 4}, 2.5, CancelToken()) == (
        False,
        "status 503, expected 200",
    )
    ok, why = probes.call(inst, "http", {"url": "ftp://x"}, {}, 1.0, CancelToken())
    assert ok is False and why.startswith("url 'ftp://x'")
    assert len(sent) == 2  # a refused request is never sent


# -- _check -------------------------------------------------------------------------------


def test_an_http_check_judges_the_answer_and_times_only_an_answered_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    timeouts: list[tuple[str, float | None]] = []
    answers = [
        HttpResponse(200, "fine", 0.125),
        HttpResponse(500, "", 0.25),
        HttpResponse(None, "", 0.5, "connection refused"),
    ]

    def fake_send(params: dict[str, Any], timeout: float | None = None) -> HttpResponse:
        timeouts.append((params["url"], timeout))
        return answers.pop(0)

    monkeypatch.setattr(probes_module, "send", fake_send)
    probes = make_runner(tmp_path)
    inst = check_instance("http", {"url": "http://127.0.0.1:1/h"}, timeout=1.5)
    assert probes._check(inst) == (True, "", 0.125)
    assert probes._check(inst) == (False, "status 500, expected 200", 0.25)
    assert probes._check(inst) == (False, "request failed: connection refused", None)
    assert timeouts == [("http://127.0.0.1:1/h", 1.5)] * 3
    bad = check_instance("http", {"url": "nope"})
    verdict, why, latency = probes._check(bad)
    assert verdict is False and why.startswith("url 'nope'") and latency is None


def test_a_tcp_check_connects_to_the_port_on_the_host_by_default(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialled: list[tuple[tuple[str, int], float]] = []

    class Conn:
        def __enter__(self) -> Conn:
            clock.now += 0.75
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    def connect(address: tuple[str, int], timeout: float) -> Conn:
        dialled.append((address, timeout))
        if address[1] == 9:
            raise ConnectionRefusedError("refused on purpose")
        return Conn()

    monkeypatch.setattr(socket, "create_connection", connect)
    probes = make_runner(tmp_path)
    assert probes._check(check_instance("tcp", {"port": "5432"}, timeout=3.0)) == (True, "", 0.75)
    assert probes._check(check_instance("tcp", {"port": 9, "host": "127.0.0.2"})) == (
        False,
        "refused on purpose",
        None,
    )
    assert dialled == [(("10.9.8.7", 5432), 3.0), (("127.0.0.2", 9), 2.0)]


def test_a_command_check_passes_on_exit_0_and_fails_with_its_masked_tail(
    tmp_path: Path, clock: Clock
) -> None:
    conn = FakeConn(CommandResult(0, "x" * 500, "", 0.1), clock, 0.375)
    probes = make_runner(tmp_path, FakePool(conn))
    inst = check_instance("command", "pg_isready", timeout=4.0)
    assert probes._check(inst) == (True, "", 0.375)
    [(spec, timeout, token)] = conn.calls
    assert spec.shell == "pg_isready" and timeout == 4.0 and token is probes._stop
    conn.result = CommandResult(1, "y" * 300 + "s3cret", "", 0.1)
    verdict, why, latency = probes._check(inst)
    assert verdict is False and latency == 0.375
    assert why == probes.journal.mask.tail("y" * 300 + "s3cret", 200)
    assert "s3cret" not in why and why.endswith("y********")


def test_a_prometheus_check_is_unknown_when_prometheus_does_not_answer(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, str, float]] = []

    def query(url: str, q: str, timeout: float) -> tuple[str, Any]:
        asked.append((url, q, timeout))
        clock.now += 0.5
        if q == "down":
            raise Unanswered("http://p:9090 status 503")
        return "vector", []

    monkeypatch.setattr(probes_module, "instant_query", query)
    judged: list[PromExpect] = []

    def judge(result_type: str, result: Any, expect: PromExpect) -> Judgement:
        judged.append(expect)
        return Judgement(False, "no data")

    monkeypatch.setattr(probes_module, "judge", judge)
    expect = PromExpect("==", 1.0)
    assert prometheus_check({"url": "http://p:9090", "query": "up"}, expect, 2.0) == (
        False,
        "no data",
        0.5,
    )
    assert prometheus_check({"url": "http://p:9090", "query": "down"}, expect, 3.0) == (
        None,
        "unknown: http://p:9090 status 503",
        None,
    )
    assert asked == [("http://p:9090", "up", 2.0), ("http://p:9090", "down", 3.0)]
    inst = check_instance("prometheus", {"url": "http://p:9090", "query": "down"}, expect=expect)
    assert make_runner(tmp_path)._check(inst) == (None, "unknown: http://p:9090 status 503", None)
    up = check_instance("prometheus", {"url": "http://p:9090", "query": "up"}, 4.0, expect=expect)
    assert make_runner(tmp_path)._check(up) == (False, "no data", 0.5)
    assert asked[-1] == ("http://p:9090", "up", 4.0) and judged == [expect, expect]


# -- _sample ------------------------------------------------------------------------------


def test_a_sample_keeps_the_journal_precision_and_journals_its_row(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = check_instance("command", "true")
    heard: list[AvailabilitySample] = []
    probes = make_runner(tmp_path, instances=[inst], listener=heard.append)
    verdicts: list[tuple[bool | None, str, float | None]] = [
        (True, "", 0.0123456),
        (False, "e" * 250 + "s3cret", None),
        (None, "unknown: no answer", None),
    ]
    checked: list[ProbeInstance] = []

    def check(i: ProbeInstance) -> tuple[bool | None, str, float | None]:
        checked.append(i)
        return verdicts.pop(0)

    monkeypatch.setattr(probes, "_check", check)
    clock.now = 12.34567891
    probes._sample(inst)
    probes._sample(inst)
    probes._sample(inst)
    first, second, third = probes.log.availability
    assert first == AvailabilitySample("health@web1", 12.345679, True, 0.012346, "")
    assert (second.ok, second.latency_s, second.unknown) == (False, None, False)
    assert (third.ok, third.unknown, third.error) == (False, True, "unknown: no answer")
    assert heard == [first, second, third]
    assert checked == [inst, inst, inst]
    probes._flush()
    [event] = journaled(tmp_path, "probe_samples")
    assert event["probe"] == "health@web1"
    assert event["fields"] == ["t", "ok", "latency_ms", "error"]
    masked = probes.journal.mask.head("e" * 250 + "s3cret", 200)
    assert event["rows"] == [
        [12.345679, True, 12.346, ""],
        [12.345679, False, None, masked],
        [12.345679, None, None, "unknown: no answer"],
    ]
    assert len(masked) <= 200 and "s3cret" not in json.dumps(event)


def test_a_check_cut_short_by_the_end_of_probing_leaves_no_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = check_instance("command", "true")
    heard: list[AvailabilitySample] = []
    probes = make_runner(tmp_path, instances=[inst], listener=heard.append)

    def check(i: ProbeInstance) -> tuple[bool | None, str, float | None]:
        probes._stop.cancel()
        return False, "killed", None

    monkeypatch.setattr(probes, "_check", check)
    probes._sample(inst)
    assert probes.log.availability == [] and heard == [] and probes._pending == {}


# -- _loop --------------------------------------------------------------------------------


class Stop:
    """The probes' stop token on the fake clock: records each wait, stops after `rounds`."""

    def __init__(self, clock: Clock, rounds: int) -> None:
        self.clock, self.rounds = clock, rounds
        self.waits: list[float] = []
        self.cancelled = False

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        self.clock.now += timeout
        return len(self.waits) >= self.rounds


def test_samples_are_due_at_a_fixed_rate_and_a_late_one_skips_the_missed_slots(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = ProbeInstance(ProbeSpec("health", 0.5, 2.0, "command"), HOST, "true", {})
    probes = make_runner(tmp_path, instances=[inst])
    clock.now = 10.0
    costs = [0.125, 1.25, 0.0625, 0.5, 0.25]
    sampled_at: list[float] = []

    def sample(i: ProbeInstance) -> None:
        sampled_at.append(clock.now)
        clock.now += costs.pop(0)

    stop = Stop(clock, 5)
    monkeypatch.setattr(probes, "_sample", sample)
    monkeypatch.setattr(probes, "_write", lambda i: pytest.fail("a check probe never writes"))
    monkeypatch.setattr(probes, "_stop", stop)
    probes._loop(inst)
    # Every 0.5s from 10: 10 -> 10.125, due 10.5; 10.5 -> 11.75, late: due 12 (11 and
    # 11.5 skipped); 12 -> 12.0625, due 12.5; 12.5 -> 13.0, exactly due 13, not late: wait
    # 0; 13 -> 13.25, due 13.5.
    assert sampled_at == [10.0, 10.5, 12.0, 12.5, 13.0]
    assert stop.waits == [0.375, 0.25, 0.4375, 0.0, 0.25]


def test_a_data_probe_writes_each_round_and_a_stopped_loop_does_nothing(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DataProbe(DataCall("shell", "w", 1.0), DataCall("shell", "r", 1.0))
    inst = ProbeInstance(ProbeSpec("ledger", 0.5, 1.0, "data", data=data), HOST, None, {})
    probes = make_runner(tmp_path, instances=[inst])
    writes: list[float] = []
    stop = Stop(clock, 3)
    monkeypatch.setattr(probes, "_write", lambda i: writes.append(clock.now if i is inst else -1))
    monkeypatch.setattr(probes, "_sample", lambda i: pytest.fail("a data probe never samples"))
    monkeypatch.setattr(probes, "_stop", stop)
    clock.now = 10.0
    probes._loop(inst)
    assert writes == [10.0, 10.5, 11.0] and stop.waits == [0.5, 0.5, 0.5]
    stop.cancelled = True
    probes._loop(inst)
    assert len(writes) == 3


# -- read_back ----------------------------------------------------------------------------


def data_instance(
    read_timeout: float, deadline: float, fmt: ReadFormat | None = None
) -> ProbeInstance:
    data = DataProbe(
        DataCall("shell", "w {{ seq }}", 1.0),
        DataCall("shell", "cat {{ ledger }}", read_timeout),
        fmt or ReadFormat(),
        deadline,
    )
    return ProbeInstance(
        ProbeSpec("ledger", 0.5, 1.0, "data", data=data), HOST, None, {"ledger": "/l"}
    )


Answer = tuple[bool, str, float]  # (ok, output, what the call costs on the clock)


def scripted(
    probes: ProbeRunner, clock: Clock, answers: list[Answer], monkeypatch: pytest.MonkeyPatch
) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def call(
        instance: ProbeInstance,
        kind: str,
        request: Any,
        extra: Any,
        timeout: float,
        cancel: CancelToken,
    ) -> tuple[bool, str]:
        calls.append((clock.now, kind, request, extra, timeout, cancel.cancelled))
        ok, output, cost = answers.pop(0) if len(answers) > 1 else answers[0]
        clock.now += cost
        return ok, output

    monkeypatch.setattr(probes, "call", call)
    return calls


def test_a_read_that_succeeds_first_is_one_journaled_attempt(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = data_instance(2.0, 5.0)
    probes = make_runner(tmp_path, instances=[inst])
    probes._stop.cancel()  # the probes have stopped; the read has its own token
    calls = scripted(probes, clock, [(True, "3\n1\n3\n", 0.25)], monkeypatch)
    assert inst.spec.data is not None
    back = read_back(probes, inst, inst.spec.data)
    assert (back.probe, back.t, back.seqs, back.error) == ("ledger@web1", 100.25, (3, 1, 3), "")
    assert calls == [(100.0, "shell", "cat {{ ledger }}", {}, 2.0, False)]
    [event] = journaled(tmp_path, "probe_read_back")
    assert strip(event) == {
        "probe": "ledger",
        "host": "web1",
        "ok": True,
        "attempts": 1,
        "count": 3,
        "seqs": [3, 1, 3],
        "duration_s": 0.25,
        "error": "",
    }
    assert journaled(tmp_path, "probe_read_failed") == [] and clock.sleeps == []


def test_a_read_retries_every_pause_until_one_more_pause_would_reach_the_deadline(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = data_instance(1.0, 3.0)
    probes = make_runner(tmp_path, instances=[inst])
    calls = scripted(probes, clock, [(False, "", 0.0)], monkeypatch)
    assert inst.spec.data is not None
    back = read_back(probes, inst, inst.spec.data)
    # Attempts at +0, +0.5 ... +2.5: there, +0.5 reaches the deadline (3s): no 7th attempt.
    assert [c[0] - 100.0 for c in calls] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    # Each bounded by the read's timeout and what is left of the deadline.
    assert [c[4] for c in calls] == [1.0, 1.0, 1.0, 1.0, 1.0, 0.5]
    assert clock.sleeps == [0.5] * 5
    why = "6 attempt(s) over 2.5s (deadline 3s), last: the read failed without output"
    assert (back.probe, back.seqs, back.error, back.t) == ("ledger@web1", (), why, 102.5)
    failed = journaled(tmp_path, "probe_read_failed")
    assert [strip(e) for e in failed] == [
        {
            "probe": "ledger",
            "host": "web1",
            "attempt": n,
            "duration_s": 0.0,
            "error": "the read failed without output",
        }
        for n in range(1, 6)
    ]
    [final] = journaled(tmp_path, "probe_read_back")
    assert strip(final) == {
        "probe": "ledger",
        "host": "web1",
        "ok": False,
        "attempts": 6,
        "count": 0,
        "seqs": [],
        "duration_s": 0.0,
        "error": why,
    }


def test_a_read_just_short_of_the_last_pause_retries_once_more(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = data_instance(1.0, 1.25)
    probes = make_runner(tmp_path, instances=[inst])
    calls = scripted(probes, clock, [(False, "boom", 0.5), (True, "4", 0.1234567)], monkeypatch)
    assert inst.spec.data is not None
    back = read_back(probes, inst, inst.spec.data)
    # +0.5 after the first: 1.0 + 0.5 pause < 1.25? no: 0.5 + 0.5 = 1.0 < 1.25: retried,
    # bounded by what is left (0.25).
    assert [c[4] for c in calls] == [1.0, 0.25]
    assert (back.seqs, back.error) == ((4,), "")
    [final] = journaled(tmp_path, "probe_read_back")
    # Kept at the journal's precision (microseconds).
    assert (final["attempts"], final["duration_s"]) == (2, 0.123457)


def test_a_slow_failed_read_past_the_deadline_gives_up_with_its_output_tail(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = data_instance(2.0, 2.0)
    probes = make_runner(tmp_path, instances=[inst])
    output = "z" * 400 + "s3cret"
    scripted(probes, clock, [(False, output, 1.5)], monkeypatch)
    assert inst.spec.data is not None
    back = read_back(probes, inst, inst.spec.data)
    tail = probes.journal.mask.tail(output, 300)
    assert back.error == f"1 attempt(s) over 1.5s (deadline 2s), last: {tail}"
    assert "s3cret" not in back.error and len(tail) <= 300 and tail.startswith("z")


def test_output_not_in_the_declared_format_is_a_failed_read_that_says_so(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = data_instance(1.0, 1.0)
    probes = make_runner(tmp_path, instances=[inst])
    scripted(probes, clock, [(True, "1\nseven\n", 0.0)], monkeypatch)
    assert inst.spec.data is not None
    back = read_back(probes, inst, inst.spec.data)
    fmt = ReadFormat().describe()
    assert back.error == (
        f"2 attempt(s) over 0.5s (deadline 1s), last: unreadable output ({fmt}): line 2 "
        f"'seven' is not a sequence number ({fmt}: one non-negative integer per line; give "
        "`pattern:` to extract it)"
    )
    assert back.seqs == ()


def test_the_flush_loop_flushes_every_half_second_until_stopped(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes = make_runner(tmp_path)
    stop = Stop(clock, 3)
    flushed: list[float] = []
    monkeypatch.setattr(probes, "_stop", stop)
    monkeypatch.setattr(probes, "_flush", lambda: flushed.append(clock.now))
    probes._flush_loop()
    assert stop.waits == [0.5, 0.5, 0.5] and len(flushed) == 2


def test_a_dead_workers_journaled_error_keeps_its_first_300_characters(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl", SecretMask())
    told: list[str] = []
    failures = WorkerFailures("probe worker", journal, told.append)
    why = "d" * 300 + "e" * 50
    failures.record("probe-health@web1", why)
    [event] = journaled(tmp_path, "probe_worker_died")
    assert (event["probe"], event["error"]) == ("probe-health@web1", "d" * 300)
    assert told == [f"probe worker probe-health@web1 {why}"]  # the report keeps it whole
