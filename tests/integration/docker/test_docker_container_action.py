"""`docker.container` against a real engine: deploy, exact rollback, state convergence."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import docker.types
import pytest

from runner.actions.base import ActionArgError, ActionContext, ActionOutcome
from runner.actions.docker_container import DockerContainerAction
from runner.connections.base import CancelToken
from runner.inventory.model import Host
from runner.templating.templar import Templar
from tests.conftest import run_drillctl
from tests.lab.docker_lab import BusyboxImages, ContainerFactory

pytestmark = pytest.mark.integration


def docker_host(container: str, **host_vars: Any) -> Host:
    return Host("gw", "gw", "docker", None, None, {"container": container, **host_vars}, ())


def converge(host: Host, args: Any, variables: dict[str, Any] | None = None) -> ActionOutcome:
    """Render, plan and execute one step as the engine would, from the controller."""
    action = DockerContainerAction()
    templar = Templar()
    rendered = templar.render(args, variables or {})
    ctx = ActionContext(host, None, templar, variables or {}, CancelToken(), None)
    return action.execute(action.plan(rendered, host), ctx)


def snapshot(client: Any, name: str) -> dict[str, Any]:
    """What `docker inspect` says about everything a redeploy must keep."""
    info = client.api.inspect_container(name)
    config, host = info["Config"], info["HostConfig"]
    networks = info["NetworkSettings"]["Networks"]
    return {
        "image_id": info["Image"],
        "running": info["State"]["Running"],
        "env": sorted(config["Env"]),
        "labels": config["Labels"],
        "cmd": config["Cmd"],
        "entrypoint": config["Entrypoint"],
        "workdir": config["WorkingDir"],
        "user": config["User"],
        # Requested ephemeral host ports get pinned to the ones in use by the swap, so the
        # comparison is on what is published (`ports`) and the requested host ips.
        "port_ips": {p: [b["HostIp"] for b in bs] for p, bs in host["PortBindings"].items()},
        "ports": info["NetworkSettings"]["Ports"],
        "restart": host["RestartPolicy"],
        # The image's anonymous VOLUME /state gets named in Binds so the swap keeps its data;
        # `mounts` below shows it is the very same volume.
        "binds": [b for b in host["Binds"] or [] if not b.endswith(":/state")],
        "mounts": sorted(
            (m["Type"], m.get("Name", ""), m["Source"], m["Destination"], m["RW"])
            for m in info["Mounts"]
        ),
        "networks": {
            name: sorted(set(ep["Aliases"] or []) - {info["Id"][:12]})
            for name, ep in networks.items()
        },
    }


def read(container: Any, script: str) -> str:
    return str(container.exec_run(["sh", "-c", script], user="0").output.decode().strip())


@pytest.fixture
def gateway(make_container: ContainerFactory, docker_engine: Any) -> Any:
    """A container with every kind of configuration a redeploy must carry over."""
    volume = make_container.volume()
    front = make_container.network(internal=False)  # an internal one cannot publish ports
    backend = make_container.network()
    front_alias = docker_engine.api.create_endpoint_config(aliases=["gw-front"])
    container = make_container(
        ports=["8080/tcp", "9090/tcp"],
        environment={"DRILL_ROLE": "gateway", "APP_MODE": "strict"},
        labels={"team": "orders"},
        volumes={volume: {"bind": "/data", "mode": "rw"}},
        mounts=[docker.types.Mount(target="/cache", source=None, type="volume")],
        working_dir="/tmp",
        user="1000",
        restart_policy={"Name": "unless-stopped"},
        network=front,
        networking_config={front: front_alias},
    )
    container.client.networks.get(backend).connect(container, aliases=["orders-gw"])
    read(container, "echo named > /data/a; echo anon > /cache/b; echo image-volume > /state/c")
    return container


def test_deploy_then_rollback_restores_the_exact_image_and_keeps_the_configuration(
    gateway: Any, docker_engine: Any, busybox_image: BusyboxImages
) -> None:
    host = docker_host(gateway.name)
    before = snapshot(docker_engine, gateway.name)
    assert before["image_id"] == busybox_image.v1_id

    deployed = converge(host, {"image": busybox_image.v2})
    assert deployed.ok, deployed.msg
    assert deployed.data["changed"] and deployed.data["recreated"]
    assert deployed.data["previous_image"] == busybox_image.v1
    assert deployed.data["previous_image_id"] == busybox_image.v1_id
    assert deployed.data["image_id"] == busybox_image.v2_id
    during = snapshot(docker_engine, gateway.name)
    new = docker_engine.containers.get(gateway.name)
    assert during["image_id"] == busybox_image.v2_id
    assert read(new, "cat /VERSION; echo $APP_VERSION $DRILL_ROLE") == "2\n2 gateway"
    assert read(new, "cat /data/a /cache/b /state/c") == "named\nanon\nimage-volume"
    assert during["ports"] == before["ports"]  # same 127.0.0.1 host ports, pinned

    rolled_back = converge(
        host, {"image": "{{ deployed.previous_image_id }}"}, {"deployed": dict(deployed.data)}
    )
    assert rolled_back.ok, rolled_back.msg
    assert rolled_back.data["image_id"] == busybox_image.v1_id
    after = snapshot(docker_engine, gateway.name)
    assert after == before
    for bindings in after["ports"].values():
        assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
    old = docker_engine.containers.get(gateway.name)
    assert read(old, "test -e /VERSION || echo no-version; echo $APP_VERSION") == "no-version\n1"
    assert read(old, "cat /data/a /cache/b /state/c") == "named\nanon\nimage-volume"
    assert sorted(after["networks"].values()) == [["gw-front"], ["orders-gw"]]
    assert all(after["ports"].values()), "ports are published"
    everything = docker_engine.containers.list(all=True, filters={"name": gateway.name})
    assert [c.name for c in everything] == [gateway.name]  # the replaced one is gone


def test_deploying_the_running_image_again_changes_nothing(
    gateway: Any, busybox_image: BusyboxImages, docker_engine: Any
) -> None:
    host = docker_host(gateway.name)
    assert converge(host, {"image": busybox_image.v2}).data["changed"] is True
    again = converge(host, {"image": busybox_image.v2, "state": "started"})
    assert again.ok
    assert again.data["changed"] is False
    assert again.data["previous_image_id"] == again.data["image_id"] == busybox_image.v2_id


def test_new_image_on_a_stopped_container_leaves_it_stopped(
    make_container: ContainerFactory, busybox_image: BusyboxImages, docker_engine: Any
) -> None:
    container = make_container()
    container.stop(timeout=1)
    outcome = converge(docker_host(container.name), {"image": busybox_image.v2})
    assert outcome.ok and outcome.data["recreated"]
    assert outcome.data["state"] == "stopped"
    assert snapshot(docker_engine, container.name)["running"] is False


@pytest.mark.parametrize(
    ("state", "status"),
    [("stopped", "exited"), ("paused", "paused"), ("started", "running"), ("absent", None)],
)
def test_state_converges_and_a_second_call_reports_unchanged(
    make_container: ContainerFactory, docker_engine: Any, state: str, status: str | None
) -> None:
    container = make_container()
    if state == "started":
        container.stop(timeout=1)
    host = docker_host(container.name)
    first = converge(host, {"state": state, "stop_timeout": "1s"})
    assert first.ok and first.data["changed"] is True, first.msg
    assert first.data["state"] == ("absent" if status is None else state)
    found = docker_engine.containers.list(all=True, filters={"name": f"^{container.name}$"})
    assert [c.status for c in found] == ([] if status is None else [status])
    second = converge(host, {"state": state})
    assert second.ok and second.data["changed"] is False


def test_paused_container_is_started_by_unpausing(make_container: ContainerFactory) -> None:
    container = make_container()
    container.pause()
    outcome = converge(docker_host(container.name), {"state": "started"})
    assert outcome.data["changed"] is True
    container.reload()
    assert container.status == "running"


def test_restarted_restarts_every_time(
    make_container: ContainerFactory, docker_engine: Any
) -> None:
    container = make_container()
    host = docker_host(container.name)
    started = [docker_engine.api.inspect_container(container.id)["State"]["StartedAt"]]
    for _ in range(2):
        outcome = converge(host, {"state": "restarted", "stop_timeout": 1})
        assert outcome.ok and outcome.data["changed"] is True
        started.append(docker_engine.api.inspect_container(container.id)["State"]["StartedAt"])
    assert len(set(started)) == 3


def test_image_missing_from_the_engine_fails_and_leaves_the_container(
    gateway: Any, docker_engine: Any
) -> None:
    before = snapshot(docker_engine, gateway.name)
    outcome = converge(docker_host(gateway.name), {"image": "drillctl-test/absent:404"})
    assert not outcome.ok
    assert "drillctl-test/absent:404" in outcome.msg and "not on the engine" in outcome.msg
    assert snapshot(docker_engine, gateway.name) == before


def test_missing_container_fails_with_its_name(docker_engine: Any) -> None:
    outcome = converge(docker_host("drillctl-test-nothing-here"), {"state": "started"})
    assert not outcome.ok
    assert "drillctl-test-nothing-here" in outcome.msg


def test_plan_is_pure_and_rejects_nonsense() -> None:
    host = docker_host("web", docker_host="unix:///nonexistent.sock")
    action = DockerContainerAction()
    planned = action.plan({"image": "app:2"}, host)  # no engine needed to plan
    assert "web" in planned.summary and "app:2" in planned.summary
    with pytest.raises(ActionArgError, match="absent"):
        action.plan({"state": "absent", "image": "app:2"}, host)
    with pytest.raises(ActionArgError, match="needs"):
        action.plan({"name": "web"}, host)


def test_drill_deploys_an_image_and_rolls_back_to_the_previous_image_id(
    make_container: ContainerFactory,
    busybox_image: BusyboxImages,
    docker_engine: Any,
    tmp_path: Path,
) -> None:
    """End to end through `drillctl run` (needs the docker connection and actions registered)."""
    container = make_container(ports=["8080/tcp"])
    before = snapshot(docker_engine, container.name)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        f"all:\n  hosts:\n    gw:\n      connection: docker\n      container: {container.name}\n"
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        textwrap.dedent(
            f"""\
            drill: container image rollback
            rollback_type: 2
            hosts: gw
            rollback_when: always
            deploy:
              - name: ship v2
                docker.container: {{image: "{busybox_image.v2}"}}
                register: deployed
              - {{name: v2 runs, shell: 'test "$(cat /VERSION)" = 2'}}
            rollback:
              - name: previous image back
                docker.container: {{image: "{{{{ deployed.previous_image_id }}}}"}}
            verify:
              - {{name: v1 runs again, shell: 'test ! -e /VERSION && test "$APP_VERSION" = 1'}}
            """
        )
    )
    proc = run_drillctl("run", str(playbook), "-i", str(inventory), "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert snapshot(docker_engine, container.name) == before
