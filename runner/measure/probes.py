"""Background probes: availability samples and sequence-numbered data writes, all drill long.

Each probe instance (a probe on one host) samples on a fixed-rate schedule in its own
thread. Samples are kept in memory for the measurements and triggers, and journaled
in batches (one fsync per batch, not per sample: 50 ms probing stays cheap).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.actions.base import ActionArgError
from runner.actions.http import check_response, plan_http, send
from runner.connections.base import CancelToken, CommandSpec
from runner.connections.pool import ConnectionPool, HostUnreachable
from runner.inventory.model import Host
from runner.journal import Journal
from runner.journal_events import Event
from runner.measure.prometheus import Unanswered, instant_query, judge
from runner.measure.readback import ReadBackFormatError, parse_read_back
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.measure.specs import READ_RETRY_PAUSE_S, DataProbe, ProbeSpec, PromExpect
from runner.measure.workers import WorkerFailures
from runner.templating.templar import Templar, TemplateError

FLUSH_EVERY_S = 0.5
STOP_JOIN_S = 10.0  # a probe worker still running this long after stop has hung


@dataclass(frozen=True)
class ProbeInstance:
    """One probe on one host. `request` is the availability check's request rendered with
    that host's variables (None for a data probe, whose calls render per attempt)."""

    spec: ProbeSpec
    host: Host
    request: Any
    variables: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def every_s(self) -> float:
        return self.spec.every_s

    @property
    def label(self) -> str:
        return f"{self.name}@{self.host.name}"

    @property
    def is_data(self) -> bool:
        return self.spec.is_data


@dataclass
class ProbeLog:
    """What all probes observed; read by triggers while the drill runs, and by measurements."""

    availability: list[AvailabilitySample] = field(default_factory=list)
    writes: list[WriteAttempt] = field(default_factory=list)
    reads: list[ReadBack] = field(default_factory=list)


Listener = Callable[[AvailabilitySample], None]


class ProbeRunner:
    def __init__(
        self,
        instances: list[ProbeInstance],
        pool: ConnectionPool,
        templar: Templar,
        journal: Journal,
        listener: Listener | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.instances = instances
        self.pool = pool
        self.templar = templar
        self.journal = journal
        self.listener = listener
        self.log = ProbeLog()
        # A worker that died or hung: its figures would rest on a log that stopped (or
        # never started) telling the truth, so the run is an error.
        self.failures = WorkerFailures("probe worker", journal, on_failure)
        self._stop = CancelToken()
        self._threads: list[threading.Thread] = []
        self._pending: dict[str, list[list[Any]]] = {}
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        if not self.instances:
            return
        self.journal.record(
            Event.PROBES_STARTED,
            probes=[
                {
                    "probe": i.name,
                    "host": i.host.name,
                    "every_s": i.every_s,
                    "timeout_s": i.spec.timeout_s,
                    "healthy_after": i.spec.healthy_after,
                }
                for i in self.instances
            ],
        )
        for instance in self.instances:
            thread = threading.Thread(
                target=self._worker, args=(instance,), daemon=True, name=f"probe-{instance.label}"
            )
            self._threads.append(thread)
            thread.start()
        flusher = threading.Thread(target=self._flush_loop, daemon=True, name="probe-flush")
        self._threads.append(flusher)
        flusher.start()

    def stop(self) -> None:
        self._stop.cancel()
        self.failures.join(self._threads, STOP_JOIN_S)
        self._flush()

    def failure(self) -> str:
        """Why the probes cannot be trusted ('' when every worker lived to the end)."""
        return self.failures.summary()

    def read_back(self) -> None:
        """After recovery: read which data-probe records are present, per data probe."""
        for instance in self.instances:
            if instance.spec.data is not None:
                self.log.reads.append(read_back(self, instance, instance.spec.data))

    def _tail(self, text: str, keep: int) -> str:
        # Masked before the cut, so a secret in a probe's output leaves no tail.
        return self.journal.mask.tail(text, keep)

    # -- sampling -----------------------------------------------------------------
    def _worker(self, instance: ProbeInstance) -> None:
        """A probe's thread: sample until stopped; an exception ends it as a failure."""
        self.failures.guard(f"probe-{instance.label}", lambda: self._loop(instance))

    def _loop(self, instance: ProbeInstance) -> None:
        start = time.monotonic()
        k = 0
        while not self._stop.cancelled:
            if instance.is_data:
                self._write(instance)
            else:
                self._sample(instance)
            k += 1
            # Fixed rate: the next sample is due at start + k*every, whatever this one cost.
            due = start + k * instance.every_s
            now = time.monotonic()
            if due < now:
                k = int((now - start) / instance.every_s) + 1
                due = start + k * instance.every_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return

    def _sample(self, instance: ProbeInstance) -> None:
        # Kept at the precision the journal holds (microseconds), so the figures the runner
        # measures and those rebuilt from its journal come from the very same numbers.
        t = round(time.monotonic(), 6)
        verdict, error, measured = self._check(instance)
        if self._stop.cancelled:
            return  # cut short by the end of probing, not by the service: no verdict
        latency_ms = None if measured is None else round(measured * 1000, 3)
        latency = None if latency_ms is None else latency_ms / 1000
        sample = AvailabilitySample(
            instance.label, t, verdict is True, latency, error, unknown=verdict is None
        )
        with self._lock:
            self.log.availability.append(sample)
            self._pending.setdefault(instance.label, []).append(
                [t, sample.verdict, latency_ms, self.journal.mask.head(error, 200)]
            )
        if self.listener is not None:
            self.listener(sample)

    def _check(self, instance: ProbeInstance) -> tuple[bool | None, str, float | None]:
        """(verdict, why not healthy, latency); verdict None: unknown (no judgement)."""
        spec, request = instance.spec, instance.request
        started = time.monotonic()
        if spec.kind == "prometheus":
            assert spec.expect is not None  # the loader builds it with every such probe
            return prometheus_check(request, spec.expect, spec.timeout_s)
        if spec.kind == "http":
            try:
                params = plan_http(request)
            except ActionArgError as exc:  # refused at plan time; never kill the probe thread
                return False, str(exc), None
            resp = send(params, spec.timeout_s)
            problem = check_response(resp, params)
            return not problem, problem, resp.elapsed_s if resp.status is not None else None
        if spec.kind == "tcp":
            address = (str(request.get("host", instance.host.address)), int(request["port"]))
            try:
                with socket.create_connection(address, spec.timeout_s):
                    return True, "", time.monotonic() - started
            except OSError as exc:
                return False, str(exc), None
        ok, output = self.call(instance, "shell", request, {}, spec.timeout_s, self._stop)
        return ok, "" if ok else self._tail(output, 200), time.monotonic() - started

    def _write(self, instance: ProbeInstance) -> None:
        data = instance.spec.data
        assert data is not None  # only data probes write
        seq = self._seq.get(instance.label, 0) + 1
        self._seq[instance.label] = seq
        sent = round(time.monotonic(), 6)  # the journal's precision, as for samples
        write = data.write
        ok, output = self.call(
            instance, write.kind, write.request, {"seq": seq}, write.timeout_s, self._stop
        )
        acked = round(time.monotonic(), 6) if ok else None
        attempt = WriteAttempt(
            instance.label, seq, sent, acked, ok, "" if ok else self._tail(output, 200)
        )
        with self._lock:
            self.log.writes.append(attempt)
            self._pending.setdefault(instance.label, []).append([seq, sent, acked, ok])

    def call(
        self,
        instance: ProbeInstance,
        kind: str,
        request: Any,
        extra: Mapping[str, Any],
        timeout: float,
        cancel: CancelToken,
    ) -> tuple[bool, str]:
        """A data call or command check: `shell` on the host, or `http` from the controller.

        (ok, output): the output is the body or stdout+stderr, or what went wrong.
        """
        variables = {**instance.variables, **extra}
        try:
            rendered = self.templar.render({kind: request}, variables)[kind]
        except TemplateError as exc:
            return False, str(exc)
        if kind == "http":
            try:
                params = plan_http(rendered)
            except ActionArgError as exc:
                return False, str(exc)
            resp = send(params, timeout)
            problem = check_response(resp, params)
            return not problem, problem or resp.body
        try:
            conn = self.pool.get(instance.host)
            result = conn.run(CommandSpec(shell=str(rendered)), timeout=timeout, cancel=cancel)
        except HostUnreachable as exc:  # a failed sample with the reason, never a dead probe
            return False, str(exc)
        if result.timed_out:
            return False, f"timed out after {timeout:g}s: {(result.stdout + result.stderr)[-200:]}"
        return result.rc == 0, result.stdout + result.stderr

    # -- journaling -----------------------------------------------------------------
    def _flush_loop(self) -> None:
        while not self._stop.wait(FLUSH_EVERY_S):
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for label, rows in pending.items():
            if not rows:
                continue
            data = label in {i.label for i in self.instances if i.is_data}
            if data:
                self.journal.record(
                    Event.PROBE_WRITES,
                    probe=label,
                    fields=["seq", "sent", "acked", "ok"],
                    rows=rows,
                )
            else:
                self.journal.record(
                    Event.PROBE_SAMPLES,
                    probe=label,
                    fields=["t", "ok", "latency_ms", "error"],
                    rows=rows,
                )


def prometheus_check(
    request: Mapping[str, Any], expect: PromExpect, timeout: float
) -> tuple[bool | None, str, float | None]:
    """One Prometheus probe sample: the instant query, judged. A Prometheus that did not
    answer (or answered what cannot be judged) makes the sample unknown, with the reason."""
    started = time.monotonic()
    try:
        result_type, result = instant_query(str(request["url"]), str(request["query"]), timeout)
        judgement = judge(result_type, result, expect)
    except Unanswered as exc:
        return None, f"unknown: {exc}", None
    return judgement.ok, judgement.detail, time.monotonic() - started


def read_back(runner: ProbeRunner, instance: ProbeInstance, data: DataProbe) -> ReadBack:
    """Read which records are present, retrying a failed read until the deadline.

    A read fails when its call fails, times out, or prints output that is not in the
    declared format. Each attempt is journaled. Attempts start until `read_deadline_s`
    after the first, each bounded by the read's timeout and by what is left of the
    deadline; the last failure is the ReadBack's error, and no write is judged on it.
    """
    started = time.monotonic()
    deadline = started + data.read_deadline_s
    cancel = CancelToken()  # the probes' own token is already cancelled: they have stopped
    attempt, error = 0, "no attempt"
    while True:
        attempt += 1
        left = deadline - time.monotonic()
        timeout = min(data.read.timeout_s, max(left, 0.001))
        t0 = time.monotonic()
        ok, output = runner.call(instance, data.read.kind, data.read.request, {}, timeout, cancel)
        seqs: tuple[int, ...] = ()
        if ok:
            try:
                seqs = parse_read_back(output, data.read_format)
                error = ""
            except ReadBackFormatError as exc:
                error = f"unreadable output ({data.read_format.describe()}): {exc}"
        else:
            error = runner._tail(output, 300) or "the read failed without output"
        duration = round(time.monotonic() - t0, 6)
        if not error:
            runner.journal.record(
                Event.PROBE_READ_BACK,
                probe=instance.name,
                host=instance.host.name,
                ok=True,
                attempts=attempt,
                count=len(seqs),
                seqs=list(seqs),
                duration_s=duration,
                error="",
            )
            return ReadBack(instance.label, time.monotonic(), seqs)
        if time.monotonic() + READ_RETRY_PAUSE_S >= deadline:
            why = (
                f"{attempt} attempt(s) over {time.monotonic() - started:.1f}s "
                f"(deadline {data.read_deadline_s:g}s), last: {error}"
            )
            runner.journal.record(
                Event.PROBE_READ_BACK,
                probe=instance.name,
                host=instance.host.name,
                ok=False,
                attempts=attempt,
                count=0,
                seqs=[],
                duration_s=duration,
                error=why,
            )
            return ReadBack(instance.label, time.monotonic(), (), why)
        # A failed attempt is evidence too: journaled, then retried.
        runner.journal.record(
            Event.PROBE_READ_FAILED,
            probe=instance.name,
            host=instance.host.name,
            attempt=attempt,
            duration_s=duration,
            error=error,
        )
        time.sleep(READ_RETRY_PAUSE_S)
