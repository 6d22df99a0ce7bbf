"""DockerConnection against a real engine: exec, files, timeouts that leave nothing behind."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from runner.actions.base import ActionContext
from runner.actions.command import ShellAction
from runner.connections.base import CancelToken, CommandSpec
from runner.connections.docker import DockerConnection, docker_factory
from runner.connections.pool import HostUnreachable
from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host
from runner.templating.templar import Templar
from tests.conftest import run_drillctl
from tests.lab.docker_lab import ContainerFactory

pytestmark = pytest.mark.integration


def docker_host(name: str, user: str | None = None, **host_vars: Any) -> Host:
    return Host(name, name, "docker", None, user, host_vars, ())


def run(conn: DockerConnection, spec: CommandSpec, timeout: float | None = 30) -> Any:
    return conn.run(spec, timeout=timeout, cancel=CancelToken())


def processes(container: Any) -> list[str]:
    """`ps` inside the container, minus its own line."""
    out = container.exec_run(["ps", "-o", "pid,stat,args"]).output.decode()
    return [line for line in out.splitlines()[1:] if "ps -o" not in line]


def test_exec_keeps_stdout_stderr_and_exit_code_apart(make_container: ContainerFactory) -> None:
    container = make_container()
    conn = docker_factory(docker_host(container.name))
    result = run(conn, CommandSpec(shell="echo to-out; echo to-err >&2; exit 3"))
    assert (result.rc, result.stdout, result.stderr) == (3, "to-out\n", "to-err\n")
    assert not result.timed_out
    assert run(conn, CommandSpec(argv=("true",))).rc == 0


def test_env_cwd_and_user_reach_the_command(make_container: ContainerFactory) -> None:
    container = make_container()
    conn = DockerConnection(docker_host(container.name, user="1000"))
    spec = CommandSpec(shell='echo "$ROLE $(pwd) $(id -u)"', env={"ROLE": "gateway"}, cwd="/tmp")
    assert run(conn, spec).stdout == "gateway /tmp 1000\n"


def test_stdin_is_fed_to_the_command(make_container: ContainerFactory) -> None:
    conn = DockerConnection(docker_host(make_container().name))
    result = run(conn, CommandSpec(argv=("wc", "-l"), stdin="one\ntwo\nthree\n"))
    assert (result.rc, result.stdout.strip()) == (0, "3")


def test_missing_program_is_an_error_on_stderr(make_container: ContainerFactory) -> None:
    conn = DockerConnection(docker_host(make_container().name))
    result = run(conn, CommandSpec(argv=("no-such-program",)))
    assert result.rc in (126, 127)
    assert "no-such-program" in result.stderr
    assert result.stdout == ""


def test_put_then_get_round_trips_content_and_mode(
    make_container: ContainerFactory, tmp_path: Path
) -> None:
    conn = DockerConnection(docker_host(make_container().name))
    source = tmp_path / "release.bin"
    source.write_bytes(bytes(range(256)) * 1000)
    source.chmod(0o750)
    conn.put(str(source), "/tmp/release.bin")
    assert run(conn, CommandSpec(argv=("wc", "-c", "/tmp/release.bin"))).stdout.split()[0] == (
        "256000"
    )
    back = tmp_path / "back.bin"
    conn.get("/tmp/release.bin", str(back))
    assert back.read_bytes() == source.read_bytes()
    assert back.stat().st_mode & 0o777 == 0o750


def test_get_or_put_on_a_missing_path_is_file_not_found(
    make_container: ContainerFactory, tmp_path: Path
) -> None:
    conn = DockerConnection(docker_host(make_container().name))
    with pytest.raises(FileNotFoundError, match="/no/such/file"):
        conn.get("/no/such/file", str(tmp_path / "x"))
    (tmp_path / "x").write_text("x")
    with pytest.raises(FileNotFoundError, match="/no/such"):
        conn.put(str(tmp_path / "x"), "/no/such/dir-file")


def test_step_with_1s_timeout_on_sleep_30_fails_in_about_1s_and_leaves_no_sleep(
    make_container: ContainerFactory, docker_engine: Any
) -> None:
    container = make_container()
    host = docker_host(container.name)
    action = ShellAction()
    ctx = ActionContext(host, docker_factory(host), Templar(), {}, CancelToken(), timeout=1.0)
    started = time.monotonic()
    outcome = action.execute(action.plan("sleep 30", host), ctx)
    elapsed = time.monotonic() - started
    assert not outcome.ok
    assert outcome.timed_out
    assert outcome.rc in (-15, -9)
    assert elapsed < 2.5, f"took {elapsed:.2f}s"
    assert not [p for p in processes(container) if "sleep" in p]


def test_timeout_kills_children_and_escaped_sessions_inside_the_container(
    make_container: ContainerFactory,
) -> None:
    container = make_container()
    conn = DockerConnection(docker_host(container.name))
    script = "setsid sleep 41 & sleep 42 & sh -c 'sleep 43'; wait"
    result = run(conn, CommandSpec(shell=script), timeout=1.0)
    assert result.timed_out
    assert result.duration_s < 3
    assert not [p for p in processes(container) if "sleep" in p]


def test_command_ignoring_term_is_killed_after_the_grace(make_container: ContainerFactory) -> None:
    container = make_container()
    conn = DockerConnection(docker_host(container.name))
    result = run(conn, CommandSpec(shell="trap '' TERM; sleep 44; sleep 45"), timeout=0.5)
    assert result.timed_out
    assert result.rc == -9
    assert result.duration_s < 4
    assert not [p for p in processes(container) if "sleep" in p]


def test_cancel_stops_the_command_inside_the_container(make_container: ContainerFactory) -> None:
    container = make_container()
    conn = DockerConnection(docker_host(container.name))
    cancel = CancelToken()
    threading.Timer(0.5, cancel.cancel).start()
    result = conn.run(CommandSpec(argv=("sleep", "46")), timeout=None, cancel=cancel)
    assert result.cancelled and not result.timed_out
    assert result.duration_s < 3
    assert not [p for p in processes(container) if "sleep" in p]


def test_missing_container_makes_the_host_unreachable(docker_engine: Any) -> None:
    conn = DockerConnection(docker_host("drillctl-test-no-such-container"))
    with pytest.raises(HostUnreachable, match="drillctl-test-no-such-container"):
        run(conn, CommandSpec(argv=("true",)))


def test_stopped_container_makes_the_host_unreachable(make_container: ContainerFactory) -> None:
    container = make_container()
    container.stop(timeout=1)
    conn = DockerConnection(docker_host(container.name))
    with pytest.raises(HostUnreachable, match="not running"):
        run(conn, CommandSpec(argv=("true",)))


def test_container_label_selects_exactly_one_running_container(
    make_container: ContainerFactory,
) -> None:
    unique = f"drillctl-test.role={make_container.owner}"
    key, value = unique.split("=")
    container = make_container(labels={key: value})
    conn = DockerConnection(docker_host("gw", container_label=unique))
    assert run(conn, CommandSpec(argv=("hostname",))).stdout.strip() == container.id[:12]
    make_container(labels={key: value})
    ambiguous = DockerConnection(docker_host("gw", container_label=unique))
    with pytest.raises(HostUnreachable, match="matches 2"):
        run(ambiguous, CommandSpec(argv=("true",)))


def test_absent_engine_is_an_environment_error_naming_it() -> None:
    with pytest.raises(TargetEnvironmentError) as caught:
        DockerConnection(docker_host("gw", docker_host="unix:///nonexistent.sock"))
    message = str(caught.value)
    assert "docker engine at unix:///nonexistent.sock is not reachable" in message
    assert "start dockerd or set DOCKER_HOST" in message


def test_drill_against_absent_engine_exits_3_with_a_clear_message(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    gw:\n      connection: docker\n"
        "      docker_host: unix:///nonexistent.sock\n"
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: engine absent\nrollback_type: 1\nhosts: gw\n"
        "deploy:\n  - {name: ship it, shell: 'true'}\n"
    )
    proc = run_drillctl("run", str(playbook), "-i", str(inventory), "--out", str(tmp_path / "r"))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output
    assert "docker engine at unix:///nonexistent.sock is not reachable" in output
    assert "Traceback" not in output


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def test_exec_overhead_against_exec_run_is_reported(make_container: ContainerFactory) -> None:
    """Not a timing assertion: prints both medians (run with -s to see them)."""
    container = make_container()
    conn = DockerConnection(docker_host(container.name))
    spec = CommandSpec(argv=("true",))
    ours: list[float] = []
    raw: list[float] = []
    for _ in range(3):  # warm both paths up (connection pool, engine caches)
        run(conn, spec)
        container.exec_run("true")
    for _ in range(20):
        started = time.perf_counter()
        run(conn, spec)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        container.exec_run("true")
        raw.append(time.perf_counter() - started)
    ratio = statistics.median(ours) / statistics.median(raw)
    print(
        f"\nDockerConnection.run median {_median_ms(ours):.1f} ms, "
        f"exec_run median {_median_ms(raw):.1f} ms, ratio {ratio:.2f}"
    )
