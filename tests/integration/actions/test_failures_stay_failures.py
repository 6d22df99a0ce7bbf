"""Paths where an action used to turn an error, a non-zero exit or an empty answer into ok.

Each test gives an action something that cannot prove what the step claims and checks the
step fails (and, where it changed something, that it still records the way back).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.actions import ACTIONS
from runner.actions.base import ActionArgError, ActionContext, ActionOutcome
from runner.actions.flag import edit_env, edit_json, same_json
from runner.actions.pip import same_version
from runner.connections.base import CancelToken
from runner.connections.local import LocalConnection
from runner.inventory import implicit_localhost
from runner.templating.templar import Templar
from tests.conftest import free_port

pytestmark = pytest.mark.integration
LOCALHOST = implicit_localhost().hosts["localhost"]


def apply(action: str, args: Any, cancel: CancelToken | None = None) -> ActionOutcome:
    templar = Templar()
    planned = ACTIONS[action].plan(args, LOCALHOST)
    conn = None if ACTIONS[action].controller_side else LocalConnection()
    ctx = ActionContext(LOCALHOST, conn, templar, {}, cancel or CancelToken(), 30)
    return ACTIONS[action].execute(planned, ctx)


# -- wait_for -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "probe",
    [
        {"command": "no-such-program-drillctl --health"},  # exit 127: the check never ran
        {"port": 80, "host": "no-such-host.invalid"},  # a name that does not resolve
        {"http": "http://no-such-host.invalid:8080/health"},
    ],
)
def test_wait_for_stopped_is_not_proven_by_a_probe_that_cannot_run(probe: dict[str, Any]) -> None:
    outcome = apply("wait_for", {**probe, "state": "stopped", "timeout": "600ms"})
    assert not outcome.ok, outcome.msg
    assert outcome.msg.startswith("not stopped within")


def test_wait_for_stopped_passes_when_the_port_really_refuses() -> None:
    outcome = apply("wait_for", {"port": free_port(), "host": "127.0.0.1", "state": "stopped"})
    assert outcome.ok, outcome.msg


def test_wait_for_stopped_passes_when_the_command_really_fails() -> None:
    assert apply("wait_for", {"command": "exit 1", "state": "stopped"}).ok


def test_wait_for_cut_short_by_an_interrupt_is_interrupted_not_stopped() -> None:
    cancel = CancelToken()
    timer = threading.Timer(0.3, cancel.cancel, kwargs={"reason": "operator"})
    timer.start()
    try:
        outcome = apply("wait_for", {"command": "sleep 5", "state": "stopped"}, cancel)
    finally:
        timer.cancel()
    assert not outcome.ok and outcome.cancelled


# -- assert ---------------------------------------------------------------------------------


@pytest.mark.parametrize("that", [[], "", [""], ["  "]])
def test_assert_with_nothing_to_check_is_refused(that: Any) -> None:
    with pytest.raises(ActionArgError):
        ACTIONS["assert"].plan({"that": that}, LOCALHOST)


def test_assert_fail_msg_that_cannot_render_still_fails_the_step() -> None:
    outcome = apply("assert", {"that": ["1 == 2"], "fail_msg": "{{ nowhere.defined }}"})
    assert not outcome.ok and "assertion failed: 1 == 2" in outcome.msg


# -- flag, flag.file --------------------------------------------------------------------------


def test_json_values_compare_by_type() -> None:
    assert not same_json(True, 1) and not same_json(1, "1") and not same_json(None, False)
    assert same_json({"a": [1, True]}, {"a": [1.0, True]}) and not same_json([1], [1, 2])


@pytest.fixture
def flag_api() -> Iterator[tuple[str, dict[str, Any]]]:
    """A flag API that answers `1` where a boolean was set (as some services store them)."""
    state: dict[str, Any] = {"enabled": 1}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send({"enabled": state["enabled"]})

        def do_PUT(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["enabled"] = int(body["enabled"])  # stores what it was sent, as a number
            self._send({"enabled": state["enabled"]})

        def _send(self, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/flag", state
    server.shutdown()
    server.server_close()


def test_flag_that_reads_back_1_for_true_is_not_verified(
    flag_api: tuple[str, dict[str, Any]],
) -> None:
    url, state = flag_api
    outcome = apply("flag", {"url": url, "value": True})  # 1 is not already true
    assert not outcome.ok and "reads back 1" in outcome.msg
    assert outcome.undo is not None  # it did send the request: the way back is kept


def test_flag_file_present_as_null_is_set_back_to_null_not_removed(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    flags.write_text('{"beta": null, "x": 1}\n')
    outcome = apply("flag.file", {"file": str(flags), "name": "beta", "value": True})
    assert outcome.ok, outcome.msg
    assert outcome.undo is not None and dict(outcome.undo.args)["value"] is None
    undone = apply("flag.file", dict(outcome.undo.args))
    assert undone.ok and flags.read_text() == '{"beta": null, "x": 1}\n'
    assert edit_json("{}", "beta", 1, False)[2] is False
    assert edit_env("A=1\n", "A", 2, False) == ("A=2\n", "1", True)


# -- pip ------------------------------------------------------------------------------------


def test_pip_versions_compare_as_pins() -> None:
    assert same_version("2.0.0", "2.0") and same_version("2", "2.0") and same_version(None, None)
    assert not same_version("2.1", "2") and not same_version("1.10", "1.1")
    assert not same_version(None, "1.0") and not same_version("1.0", None)


def test_pip_that_cannot_read_back_the_version_fails(tmp_path: Path) -> None:
    """A venv whose python answers `before` but dies when asked `after`."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    real = venv / "bin" / "python"
    counter = tmp_path / "calls"
    wrapper = tmp_path / "python-wrapper"
    # First call (`before`) prints absent; `-m pip` succeeds doing nothing; `after` crashes.
    wrapper.write_text(
        "#!/bin/sh\n"
        f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}\n"
        'case "$1" in -m) exit 0;; esac\n'
        '[ "$n" = 0 ] && { echo "drillctl.before="; exit 0; }\n'
        "exit 139\n"
    )
    wrapper.chmod(0o755)
    real.unlink()
    real.symlink_to(wrapper)
    outcome = apply("pip", {"venv": str(venv), "name": "anything", "version": "1.0"})
    assert not outcome.ok, outcome.msg
    assert "could not be read back" in outcome.msg
    assert outcome.undo is not None  # pip may have installed it: keep the way back
