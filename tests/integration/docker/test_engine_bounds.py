"""Acceptance: an engine that stops answering, or never answers, never hangs a drill.

The engine sits behind a unix socket the test creates (DOCKER_HOST / host var
`docker_host`): a socket that accepts and never answers, or a proxy to the real engine
that freezes mid-command.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.connections import docker_targets
from runner.connections.base import CANCEL_BOUND_S, GRACE_S, CancelToken, CommandSpec
from runner.connections.docker import DockerConnection
from runner.connections.pool import HostUnreachable
from runner.inventory.model import Host
from tests.conftest import REPO, child_env, drillctl_argv
from tests.lab.docker_lab import ContainerFactory
from tests.lab.engine_proxy import EngineProxy, silent_engine

pytestmark = pytest.mark.integration


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short directory: a unix socket's path must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="dk-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def proxy(socket_dir: Path) -> Iterator[EngineProxy]:
    engine = EngineProxy(socket_dir / "engine.sock")
    yield engine
    engine.close()
    docker_targets.forget_client(engine.url)


def container_host(name: str, url: str) -> Host:
    return Host(name, name, "docker", None, None, {"docker_host": url}, ())


def test_a_run_against_an_engine_that_never_answers_ends_with_exit_3_within_the_bound(
    socket_dir: Path, tmp_path: Path
) -> None:
    import subprocess

    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    app:\n      connection: docker\n")
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        f"drill: wedged engine\nrollback_type: 2\nhosts: all\n"
        f"deploy:\n  - shell: 'touch {tmp_path}/ran'\n"
    )
    with silent_engine(socket_dir / "wedged.sock") as url:
        started = time.monotonic()
        proc = subprocess.run(
            drillctl_argv("run", str(playbook), "-i", str(inv), "--out", str(tmp_path / "run")),
            cwd=REPO,
            env=child_env(DOCKER_HOST=url),
            capture_output=True,
            text=True,
            timeout=docker_targets.API_TIMEOUT_S + 30,
        )
        took = time.monotonic() - started
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"docker engine at {url} is not reachable: no answer within" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert took < docker_targets.API_TIMEOUT_S + 10, f"took {took:.1f}s"
    assert not (tmp_path / "ran").exists()


def test_an_engine_that_freezes_mid_command_makes_the_host_unreachable_in_bounds(
    make_container: ContainerFactory, proxy: EngineProxy
) -> None:
    conn = DockerConnection(container_host(make_container().name, proxy.url))
    assert conn.run(CommandSpec(shell="true"), timeout=10, cancel=CancelToken()).rc == 0
    threading.Timer(0.5, proxy.freeze).start()
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match="did not answer the kill"):
        conn.run(CommandSpec(shell="sleep 30"), timeout=2, cancel=CancelToken())
    took = time.monotonic() - started
    assert 2 <= took < 2 + GRACE_S, f"took {took:.1f}s"


def test_cancel_while_the_engine_is_frozen_returns_within_the_cancel_bound(
    make_container: ContainerFactory, proxy: EngineProxy
) -> None:
    conn = DockerConnection(container_host(make_container().name, proxy.url))
    assert conn.run(CommandSpec(shell="true"), timeout=10, cancel=CancelToken()).rc == 0
    cancel = CancelToken()
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(
            conn.run(CommandSpec(shell="sleep 30"), timeout=None, cancel=cancel)
        )
    )
    worker.start()
    time.sleep(0.5)
    proxy.freeze()
    time.sleep(0.5)
    cancel.cancel("interrupted by SIGINT")
    sent = time.monotonic()
    worker.join(10)
    took = time.monotonic() - sent
    assert results, "run() did not return after the cancel"
    assert results[0].cancelled and took < CANCEL_BOUND_S, f"took {took:.1f}s"


def test_a_command_silent_for_longer_than_the_api_timeout_still_succeeds(
    make_container: ContainerFactory, proxy: EngineProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each engine call is bounded; the command's output is not: a quiet command is not a
    # wedged engine.
    monkeypatch.setattr(docker_targets, "API_TIMEOUT_S", 1.0)
    conn = DockerConnection(container_host(make_container().name, proxy.url))
    result = conn.run(CommandSpec(shell="sleep 2.5; echo done"), timeout=10, cancel=CancelToken())
    assert (result.rc, result.stdout) == (0, "done\n"), result


def test_an_engine_that_goes_away_mid_command_makes_the_host_unreachable_at_once(
    make_container: ContainerFactory, proxy: EngineProxy
) -> None:
    conn = DockerConnection(container_host(make_container().name, proxy.url))
    threading.Timer(0.5, proxy.close).start()  # the engine's socket and connections vanish
    started = time.monotonic()
    with pytest.raises(
        HostUnreachable, match=r"not reachable|connection to the docker engine broke"
    ):
        conn.run(CommandSpec(shell="sleep 30"), timeout=20, cancel=CancelToken())
    assert time.monotonic() - started < 3


def test_ctrl_c_while_the_engine_is_frozen_mid_step_takes_effect_within_two_seconds(
    make_container: ContainerFactory, proxy: EngineProxy, tmp_path: Path
) -> None:
    import signal
    import subprocess

    from tests.conftest import events

    name = make_container().name
    inv = tmp_path / "inv.yml"
    inv.write_text(
        f"all:\n  hosts:\n    {name}:\n      connection: docker\n      docker_host: {proxy.url}\n"
        "    here:\n      connection: local\n"
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: frozen engine\nrollback_type: 2\nhosts: all\ndeploy:\n"
        f"  - name: hang\n    hosts: {name}\n    shell: 'sleep 60'\n"
        f"rollback:\n  - shell: 'touch {tmp_path}/rolled-{{{{ inventory_hostname }}}}'\n"
    )
    out = tmp_path / "run"
    proc = subprocess.Popen(
        drillctl_argv("run", str(playbook), "-i", str(inv), "--out", str(out)),
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while (
            not any(e["event"] == "step_started" for e in safe_events(out))
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(1.0)  # the exec is running
        proxy.freeze()
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        while time.monotonic() - sent < 10 and not hang_result(out):
            time.sleep(0.02)
        stopped = time.monotonic() - sent
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert stopped < CANCEL_BOUND_S, f"the step took {stopped:.2f}s to stop after SIGINT"
    assert hang_result(out)["status"] == "interrupted"
    assert (tmp_path / "rolled-here").exists(), "the reachable host was not rolled back"
    rolled = [e for e in events(out) if e["event"] == "host_result" and e["phase"] == "rollback"]
    assert {e["host"]: e["status"] for e in rolled} == {"here": "ok", name: "unreachable"}
    assert "Traceback" not in stderr
    assert proc.returncode == 130, stdout + stderr


def safe_events(run_dir: Path) -> list[dict[str, Any]]:
    """The journal's complete lines so far."""
    import json

    try:
        lines = (run_dir / "journal.jsonl").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def hang_result(run_dir: Path) -> dict[str, Any]:
    return next(
        (e for e in safe_events(run_dir) if e["event"] == "host_result" and e["step"] == "hang"),
        {},
    )


def test_a_command_without_timeout_ends_unreachable_when_its_engine_freezes(
    make_container: ContainerFactory, proxy: EngineProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.connections import docker as docker_connection

    # Scaled down: a health check every 0.5 s, answered within 1 s (5 s and 10 s in use).
    monkeypatch.setattr(docker_targets, "API_TIMEOUT_S", 1.0)
    monkeypatch.setattr(docker_connection, "ENGINE_CHECK_S", 0.5)
    conn = DockerConnection(container_host(make_container().name, proxy.url))
    slow = conn.run(CommandSpec(shell="sleep 2; echo fine"), timeout=None, cancel=CancelToken())
    assert (slow.rc, slow.stdout) == (0, "fine\n"), "a healthy engine must not be given up on"
    threading.Timer(0.5, proxy.freeze).start()
    started = time.monotonic()
    with pytest.raises(HostUnreachable, match="no answer within 1s"):
        conn.run(CommandSpec(shell="sleep 60"), timeout=None, cancel=CancelToken())
    assert time.monotonic() - started < 0.5 + 0.5 + 1.0 + 1.5
