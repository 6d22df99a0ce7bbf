"""Deliver messages through Apprise without ever holding up the drill.

Each channel sends on its own worker thread; the drill only enqueues. A delivery that fails
or outlasts the plan's timeout is recorded as failed (in the journal, through `record`)
and the drill goes on; `close()` waits at most one timeout in all for what is in flight.
A sender that outlasted its timeout may still get through later, so the channel's next
message waits for it (one more timeout at most) and is recorded as not sent if it is still
running: a channel never receives a drill's messages out of order.
Secrets are masked before a message leaves, and in every record of it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runner.journal_events import Event
from runner.notify.messages import DEFAULT_TEMPLATES, Message, fields_for
from runner.notify.plan import NotifyPlan

Record = Callable[[Event, dict[str, Any]], None]  # (event kind, fields) into the journal


class Renderer(Protocol):
    def render_text(self, text: str, variables: Mapping[str, Any]) -> str: ...


class Mask(Protocol):
    def mask(self, text: str) -> str: ...


class Sender(Protocol):
    """Sends one message to one URL; True when the channel accepted it."""

    def __call__(self, url: str, title: str, body: str, timeout_s: float) -> bool: ...


def apprise_send(url: str, title: str, body: str, timeout_s: float) -> bool:
    """One delivery through Apprise (imported only when a drill notifies)."""
    import apprise

    client = apprise.Apprise()
    if not client.add(url):
        return False
    return bool(client.notify(title=title, body=body, timeout=timeout_s))


@dataclass(frozen=True)
class Delivery:
    channel: str
    message: Message


class Notifier:
    """Renders and sends one drill's messages; safe to call from any thread.

    Each channel has its own worker, so a channel that hangs delays only its own messages.
    """

    def __init__(
        self,
        plan: NotifyPlan,
        base_fields: Mapping[str, Any],
        renderer: Renderer,
        mask: Mask,
        record: Record,
        send: Sender = apprise_send,
    ) -> None:
        self.plan = plan
        self.base = dict(base_fields)
        self.renderer = renderer
        self.mask = mask
        self.record = record
        self.send = send
        self._lock = threading.Lock()
        self._pending = dict.fromkeys(plan.channels, 0)
        # Set by close(): what is still queued or in flight then is recorded as not sent,
        # and a worker that finishes later records nothing (the journal has ended).
        self._closed = False
        self._queues: dict[str, queue.Queue[Delivery | None]] = {}
        self._workers: list[threading.Thread] = []
        # Per channel, a sender still running past its timeout (touched only by that
        # channel's worker).
        self._stragglers: dict[str, threading.Thread] = {}
        for channel in plan.channels:
            self._queues[channel] = queue.Queue()
            worker = threading.Thread(
                target=self._work, args=(channel,), name=f"drillctl-notify-{channel}", daemon=True
            )
            worker.start()
            self._workers.append(worker)

    def event(self, event: str, **fields: Any) -> None:
        """Queue `event`'s message for every channel, if the plan wants that event."""
        if event not in self.plan.events:
            return
        try:
            message = self._message(event, fields)
        except Exception as exc:  # a bad template must not stop the drill; it is recorded
            self.record(
                Event.NOTIFY_FAILED,
                {"notify_event": event, "channel": "*", "error": self.mask.mask(str(exc))},
            )
            return
        for channel, pending in self._queues.items():
            with self._lock:
                self._pending[channel] += 1
            pending.put(Delivery(channel, message))

    def close(self) -> None:
        """Give what is still queued at most one timeout in all, then record what was not sent."""
        deadline = time.monotonic() + self.plan.timeout_s
        for pending in self._queues.values():
            pending.put(None)
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            self._closed = True
            left = {channel: n for channel, n in self._pending.items() if n}
        for channel, count in left.items():
            self.record(
                Event.NOTIFY_FAILED,
                {
                    "notify_event": "*",
                    "channel": channel,
                    "error": f"{count} message(s) not sent before the drill ended",
                },
            )

    def _message(self, event: str, extra: Mapping[str, Any]) -> Message:
        fields = fields_for(event, self.base, extra)
        title_t, body_t = DEFAULT_TEMPLATES[event]
        body_t = self.plan.templates.get(event, body_t)
        title = self.renderer.render_text(title_t, fields)
        body = self.renderer.render_text(body_t, fields)
        return Message(event, self.mask.mask(title), self.mask.mask(body))

    def _work(self, channel: str) -> None:
        pending = self._queues[channel]
        while True:
            item = pending.get()
            if item is None:
                return
            try:
                kind, fields = self._deliver(item)
            except Exception as exc:  # a bug here must not pass for a delivery
                kind, fields = (
                    Event.NOTIFY_FAILED,
                    {
                        "notify_event": item.message.event,
                        "channel": channel,
                        "took_s": None,
                        "error": self.mask.mask(f"{type(exc).__name__}: {exc}"),
                    },
                )
            # One step under the lock: a delivery close() counted as not sent is never
            # also recorded, and one recorded is never counted.
            with self._lock:
                self._pending[channel] -= 1
                if not self._closed:
                    self.record(kind, fields)

    def _deliver(self, item: Delivery) -> tuple[Event, dict[str, Any]]:
        """Send one message; the record of how it went (sent, or failed and why)."""
        url = self.plan.channels[item.channel]
        to = list(self.plan.audience.get(item.channel, ()))
        body = item.message.body + (f"\nTo: {', '.join(to)}" if to else "")
        outcome: dict[str, Any] = {}

        def attempt() -> None:
            try:
                outcome["ok"] = self.send(url, item.message.title, body, self.plan.timeout_s)
            except Exception as exc:  # the channel's failure is reported, never raised
                outcome["error"] = str(exc) or type(exc).__name__

        straggler = self._stragglers.pop(item.channel, None)
        if straggler is not None:
            waited_from = time.monotonic()
            straggler.join(self.plan.timeout_s)
            if straggler.is_alive():
                self._stragglers[item.channel] = straggler
                error = (
                    "not sent: the channel's previous delivery is still running past its "
                    "timeout, and this message could reach the channel before it"
                )
                took = round(time.monotonic() - waited_from, 3)  # waiting for the straggler
                about = {"notify_event": item.message.event, "channel": item.channel}
                return Event.NOTIFY_FAILED, {**about, "took_s": took, "error": error}
        started = time.monotonic()
        sender = threading.Thread(target=attempt, name="drillctl-notify-send", daemon=True)
        sender.start()
        sender.join(self.plan.timeout_s)
        took = round(time.monotonic() - started, 3)
        fields = {"notify_event": item.message.event, "channel": item.channel, "took_s": took}
        if sender.is_alive():
            self._stragglers[item.channel] = sender
            error = f"no answer within {self.plan.timeout_s:g}s"
        elif outcome.get("ok"):
            return Event.NOTIFY_SENT, {**fields, "to": to, "title": item.message.title}
        else:
            error = outcome.get("error") or "the channel refused the message"
        return Event.NOTIFY_FAILED, {**fields, "error": self.mask.mask(str(error))}
