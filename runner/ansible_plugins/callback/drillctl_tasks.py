"""Ansible callback: one JSON line per task result, for the drill's journal.

`ansible-playbook` loads this file itself (an `ansible` step sets ANSIBLE_CALLBACK_PLUGINS
to this folder and enables `drillctl_tasks`); the lines go to the file named by
DRILLCTL_TASK_LOG, which the step reads when the playbook is over. The screen output stays
Ansible's own.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

LOG_VARIABLE = "DRILLCTL_TASK_LOG"
# A message longer than this is cut: the journal keeps what happened, not whole outputs.
MAX_MSG = 2000


def _part(result: Any, name: str) -> Any:
    """`result.host`, `.task`, `.result` (ansible-core 2.19) or their older private names."""
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, f"_{name}", None)


class CallbackModule(CallbackBase):  # type: ignore[misc]
    """Writes each task result (host, play, task, status, changed, rc, msg, duration)."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "drillctl_tasks"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._path = os.environ.get(LOG_VARIABLE, "")
        self._play = ""
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._play = str(play.get_name())

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._started[str(task._uuid)] = time.monotonic()

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._started[str(task._uuid)] = time.monotonic()

    def v2_runner_on_ok(self, result: Any) -> None:
        self._write(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._write(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._write(result, "unreachable")

    def _write(self, result: Any, status: str) -> None:
        if not self._path:
            return
        task, host = _part(result, "task"), _part(result, "host")
        facts = _part(result, "result") or {}
        started = self._started.get(str(getattr(task, "_uuid", "")))
        msg = facts.get("msg") or facts.get("stderr") or ""
        line = {
            "host": str(host.get_name()) if host is not None else "",
            "play": self._play,
            "task": str(task.get_name()) if task is not None else "",
            "action": str(getattr(task, "action", "") or ""),
            "status": status,
            "changed": bool(facts.get("changed", False)),
            "rc": facts.get("rc") if isinstance(facts.get("rc"), int) else None,
            "msg": str(msg)[:MAX_MSG],
            "duration_s": None if started is None else round(time.monotonic() - started, 3),
        }
        with self._lock, open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
