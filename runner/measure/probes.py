"""Background probes: availability samples and sequence-numbered data writes, all drill long.

Each probe instance (a probe on one host) samples on a fixed-rate schedule in its own
thread. Samples are kept in memory for the measurements and triggers, and journaled
in batches (one fsync per batch, not per sample: 50 ms probing stays cheap).
"""

from __future__ import annotations

import json
import re
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
from runner.durations import parse_duration
from runner.inventory.model import Host
from runner.journal import Journal
from runner.measure.samples import AvailabilitySample, ReadBack, WriteAttempt
from runner.playbook.templating import Templar, TemplateError

FLUSH_EVERY_S = 0.5
DEFAULT_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class ProbeInstance:
    """One probe on one host, its templates rendered with that host's variables."""

    name: str
    host: Host
    spec: Mapping[str, Any]
    every_s: float
    variables: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.name}@{self.host.name}"

    @property
    def is_data(self) -> bool:
        return "data" in self.spec


@dataclass
class ProbeLog:
    """What all probes observed; read by triggers while the drill runs, and by measurements."""

    availability: list[AvailabilitySample] = field(default_factory=list)
    writes: list[WriteAttempt] = field(default_factory=list)
    reads: list[ReadBack] = field(default_factory=list)


Listener = Callable[[AvailabilitySample], None]


def parse_seqs(output: str) -> tuple[int, ...]:
    """Sequence numbers from a read-back: JSON `{"seqs": [...]}` or a JSON list, else every
    integer in the text (one per line is the usual shape of a shell read-back)."""
    try:
        data = json.loads(output)
    except ValueError:
        return tuple(int(n) for n in re.findall(r"-?\d+", output))
    if isinstance(data, dict):
        data = data.get("seqs", data.get("items", []))
    if isinstance(data, list):
        return tuple(
            int(x) for x in data if isinstance(x, (int, str)) and str(x).lstrip("-").isdigit()
        )
    return ()


class ProbeRunner:
    def __init__(
        self,
        instances: list[ProbeInstance],
        pool: ConnectionPool,
        templar: Templar,
        journal: Journal,
        listener: Listener | None = None,
    ) -> None:
        self.instances = instances
        self.pool = pool
        self.templar = templar
        self.journal = journal
        self.listener = listener
        self.log = ProbeLog()
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
            "probes_started",
            probes=[
                {"probe": i.name, "host": i.host.name, "every_s": i.every_s} for i in self.instances
            ],
        )
        for instance in self.instances:
            thread = threading.Thread(
                target=self._loop, args=(instance,), daemon=True, name=f"probe-{instance.label}"
            )
            self._threads.append(thread)
            thread.start()
        flusher = threading.Thread(target=self._flush_loop, daemon=True, name="probe-flush")
        self._threads.append(flusher)
        flusher.start()

    def stop(self) -> None:
        self._stop.cancel()
        for thread in self._threads:
            thread.join(timeout=10)
        self._flush()

    def read_back(self) -> None:
        """After recovery: read which data-probe records are present, per data probe."""
        for instance in self.instances:
            if not instance.is_data:
                continue
            started = time.monotonic()
            ok, output = self._run(instance, instance.spec["data"]["read"], {})
            seqs = parse_seqs(output) if ok else ()
            error = "" if ok else self._tail(output, 300)
            back = ReadBack(instance.label, time.monotonic(), seqs, error)
            self.log.reads.append(back)
            self.journal.record(
                "probe_read_back",
                probe=instance.name,
                host=instance.host.name,
                ok=ok,
                count=len(seqs),
                seqs=list(seqs),
                duration_s=round(time.monotonic() - started, 6),
                error=error,
            )

    def _tail(self, text: str, keep: int) -> str:
        # Masked before the cut, so a secret in a probe's output leaves no tail.
        return self.journal.mask.tail(text, keep)

    # -- sampling -----------------------------------------------------------------
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
        t = time.monotonic()
        ok, error, latency = self._check(instance)
        if self._stop.cancelled:
            return  # cut short by the end of probing, not by the service: no verdict
        sample = AvailabilitySample(instance.label, t, ok, latency, error)
        with self._lock:
            self.log.availability.append(sample)
            self._pending.setdefault(instance.label, []).append(
                [
                    round(t, 6),
                    ok,
                    None if latency is None else round(latency * 1000, 3),
                    self.journal.mask.head(error, 200),
                ]
            )
        if self.listener is not None:
            self.listener(sample)

    def _check(self, instance: ProbeInstance) -> tuple[bool, str, float | None]:
        spec = instance.spec
        started = time.monotonic()
        if "http" in spec:
            try:
                params = plan_http(spec["http"])
            except ActionArgError as exc:  # refused at plan time; never kill the probe thread
                return False, str(exc), None
            resp = send(params)
            problem = check_response(resp, params)
            return not problem, problem, resp.elapsed_s if resp.status is not None else None
        if "tcp" in spec:
            tcp = spec["tcp"]
            timeout = parse_duration(tcp.get("timeout", DEFAULT_TIMEOUT_S))
            try:
                with socket.create_connection(
                    (str(tcp.get("host", instance.host.address)), int(tcp["port"])), timeout
                ):
                    return True, "", time.monotonic() - started
            except OSError as exc:
                return False, str(exc), None
        ok, output = self._run(instance, {"shell": spec["command"]}, {})
        return ok, "" if ok else self._tail(output, 200), time.monotonic() - started

    def _write(self, instance: ProbeInstance) -> None:
        seq = self._seq.get(instance.label, 0) + 1
        self._seq[instance.label] = seq
        sent = time.monotonic()
        ok, output = self._run(instance, instance.spec["data"]["write"], {"seq": seq})
        acked = time.monotonic() if ok else None
        attempt = WriteAttempt(
            instance.label, seq, sent, acked, ok, "" if ok else self._tail(output, 200)
        )
        with self._lock:
            self.log.writes.append(attempt)
            self._pending.setdefault(instance.label, []).append(
                [seq, round(sent, 6), None if acked is None else round(acked, 6), ok]
            )

    def _run(
        self, instance: ProbeInstance, call: Mapping[str, Any], extra: Mapping[str, Any]
    ) -> tuple[bool, str]:
        """A data-probe or command call: `shell` on the host, or `http` from the controller."""
        variables = {**instance.variables, **extra}
        try:
            rendered = self.templar.render(dict(call), variables)
        except TemplateError as exc:
            return False, str(exc)
        timeout = parse_duration(instance.spec.get("timeout", DEFAULT_TIMEOUT_S))
        if "http" in rendered:
            try:
                params = plan_http(rendered["http"])
            except ActionArgError as exc:
                return False, str(exc)
            resp = send(params, timeout)
            problem = check_response(resp, params)
            return not problem, problem or resp.body
        try:
            conn = self.pool.get(instance.host)
        except HostUnreachable as exc:
            return False, str(exc)
        result = conn.run(
            CommandSpec(shell=str(rendered["shell"])), timeout=timeout, cancel=self._stop
        )
        return result.rc == 0 and not result.timed_out, result.stdout + result.stderr

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
                    "probe_writes", probe=label, fields=["seq", "sent", "acked", "ok"], rows=rows
                )
            else:
                self.journal.record(
                    "probe_samples",
                    probe=label,
                    fields=["t", "ok", "latency_ms", "error"],
                    rows=rows,
                )
