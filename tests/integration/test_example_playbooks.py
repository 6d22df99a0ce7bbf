"""Acceptance: every example playbook runs end to end against its lab and proves its rollback.

One drill per component kind of the rollback procedures (application code, database schema,
configuration, feature flag, dependency, infrastructure) on the local lab, and a network
partition chaos drill on the Docker lab. Each must pass, roll back the way it says, and
prove in verify that the previous state is back.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab import docker_lab
from tests.conftest import REPO, free_port, run_drillctl
from tests.lab.docker_lab import docker_engine
from tests.lab.prometheus import Monitored, monitored

pytestmark = pytest.mark.integration
__all__ = ["docker_engine", "monitored"]

LOCAL = "inventories/local.yml"
DOCKER_LAB = "inventories/docker-lab.yml"
# Playbooks whose lab is not the local one; every other playbook lints against LOCAL.
INVENTORY_OF = {"network-partition-drill.yml": DOCKER_LAB}
# Unique per run: two runs of the suite on one machine must not share containers.
PREFIX = f"drillctl-test-ex-{uuid.uuid4().hex[:6]}"


def run_drill(playbook: str, inventory: str | Path, out: Path, *extra: str) -> dict[str, Any]:
    """Run a playbook; its result.json, after checking it passed."""
    proc = run_drillctl(
        "run", f"playbooks/{playbook}", "-i", str(inventory), *extra, "--out", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads((out / "result.json").read_text())
    assert result["status"] == "passed", result
    return result


def run_local(playbook: str, out: Path) -> dict[str, Any]:
    """Run a playbook on the local lab, its service on a free port."""
    return run_drill(playbook, LOCAL, out, "-e", f"lab_port={free_port()}")


def steps(result: dict[str, Any], phase: str) -> dict[str, str]:
    """{step name: status} of one phase (one host)."""
    return {s["name"]: s["status"] for s in result["steps"] if s["phase"] == phase}


def assert_rolled_back_after_deploy_failed(result: dict[str, Any]) -> None:
    assert result["rolled_back"] is True
    assert result["rollback_succeeded"] is True
    assert result["trigger"]["phase"] == "deploy"
    assert result["verdicts"]["budget"] == "met"


def assert_verified(result: dict[str, Any], *checks: str) -> None:
    """Every verify step ran and passed, the named state checks among them."""
    verify = steps(result, "verify")
    assert verify and set(verify.values()) == {"ok"}, verify
    assert set(checks) <= set(verify), f"missing checks: {set(checks) - set(verify)}"


def lab_processes(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "-m runner lab" in line]


# -- one drill per component kind, on the local lab ---------------------------------------------


def test_app_code_rollback_switches_current_back_to_release_1(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_local("app-code-rollback.yml", out)
    assert_rolled_back_after_deploy_failed(result)
    [undo] = steps(result, "rollback")
    assert undo.startswith("undo: switch") and undo.endswith("/releases/1")
    assert_verified(
        result,
        "the link names the known-good release",
        "version matches the known-good release",
    )
    assert not (out / "app" / "lab1").exists(), "cleanup left the release directories"
    assert not lab_processes(str(out)), "a lab process outlived the drill"


def test_db_schema_rollback_runs_the_down_migration_and_keeps_the_rows(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_local("db-schema-rollback.yml", out)
    assert_rolled_back_after_deploy_failed(result)
    assert list(steps(result, "rollback")) == [f"undo: down migration on {out}/work/lab1/orders.db"]
    assert_verified(
        result,
        "the schema equals the original (sqlite_master)",
        "the orders written before the change are intact",
    )
    assert not (out / "work" / "lab1").exists()


def test_config_rollback_restores_the_old_bytes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_local("config-rollback.yml", out)
    assert_rolled_back_after_deploy_failed(result)
    [undo] = steps(result, "rollback")
    assert undo.startswith(f"undo: restore {out}/work/lab1/gateway.conf from ")
    assert_verified(
        result,
        "the config is byte for byte the known-good one",
        "the service runs the known-good settings again",
    )
    assert not (out / "work" / "lab1").exists()
    assert not lab_processes(str(out)), "a lab process outlived the drill"


def test_feature_flag_rollback_sets_the_flag_back(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_local("feature-flag-rollback.yml", out)
    assert_rolled_back_after_deploy_failed(result)
    assert result["trigger"]["step"] == "the quote is still right"
    assert list(steps(result, "rollback")) == [
        f"undo: set new_pricing in {out}/work/lab1/flags.json back"
    ]
    assert_verified(
        result,
        "the flag has its original value",
        "the flags file is byte for byte the original (other flags untouched)",
        "old behaviour is active",
    )


def test_dependency_rollback_pins_the_old_version_back(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_local("dependency-rollback.yml", out)
    assert_rolled_back_after_deploy_failed(result)
    assert list(steps(result, "rollback")) == ["undo: drillctl-demo-pricing back to 1.0"]
    assert_verified(
        result, "the known-good release is installed again", "the application works again"
    )
    assert not (out / "work" / "lab1").exists(), "cleanup left the virtualenv"


def test_infrastructure_rollback_reapplies_the_previous_state(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run_local("infrastructure-rollback.yml", out)
    assert_rolled_back_after_deploy_failed(result)
    assert steps(result, "rollback") == {
        "plan the rollback to the previous state": "ok",
        "re-apply the previous state": "ok",
        "connectivity check after the rollback": "ok",
    }
    assert_verified(
        result,
        "the live state is byte for byte the known-good one",
        "no drift from the previous state",
        "every backend is reachable again",
    )


def test_prometheus_probe_drill_rolls_back_on_the_query_and_measures_rto(
    monitored: Monitored, tmp_path: Path
) -> None:
    """Its lab on a free port, and a Prometheus (the test's own) scraping that port."""
    result = run_drill(
        "prometheus-probe-drill.yml",
        LOCAL,
        tmp_path / "run",
        "-e",
        f"lab_port={monitored.lab_port}",
        "-e",
        f"prometheus_url={monitored.prometheus.url}",
    )
    assert result["rolled_back"] is True and result["rollback_succeeded"] is True
    assert (result["trigger"]["kind"], result["trigger"]["probe"]) == ("probe", "up")
    assert result["measured"]["rto_s"] is not None
    assert_verified(result, "Prometheus sees the previous release up again")


# -- the chaos drill, on the Docker lab ---------------------------------------------------------


@pytest.fixture
def docker_lab_inventory(docker_engine: Any, tmp_path: Path) -> Iterator[Path]:
    """Two lab containers on free ports, and an inventory like inventories/docker-lab.yml."""
    lab = docker_lab.up(2, first_port=0, prefix=PREFIX)  # ports Docker picks as it binds
    try:
        inventory = yaml.safe_load((REPO / DOCKER_LAB).read_text())
        inventory["all"]["children"]["gateway"]["hosts"] = {
            name: {"lab_url": f"http://127.0.0.1:{port}"}
            for name, port in zip(lab.containers, lab.ports, strict=True)
        }
        path = tmp_path / "docker-lab.yml"
        path.write_text(yaml.safe_dump(inventory))
        yield path
    finally:
        docker_lab.down(prefix=PREFIX)


def drillctl_rules(container: str) -> list[str]:
    """iptables rules drillctl left in the container's network namespace."""
    pid = docker_lab.client().containers.get(container).attrs["State"]["Pid"]
    rules = subprocess.run(
        ["nsenter", "-t", str(pid), "-n", "iptables-save"], capture_output=True, text=True
    ).stdout
    return [line for line in rules.splitlines() if "drillctl-" in line]


def test_network_partition_cuts_one_instance_off_and_it_heals(
    docker_lab_inventory: Path, tmp_path: Path
) -> None:
    victim, other = f"{PREFIX}-1", f"{PREFIX}-2"
    # The service listens on 8080 inside the containers (published on the fixture's ports).
    result = run_drill("network-partition-drill.yml", docker_lab_inventory, tmp_path / "run")
    assert result["rolled_back"] is False  # the fault's revert healed it: nothing to restart
    [fault] = result["faults"]
    assert fault["kind"] == "network.partition" and fault["targets"] == [victim]
    assert fault["reverted_at"] and fault["revert_failed"] is False
    by_host = {(s["name"], s["host"]): s["status"] for s in result["steps"]}
    assert by_host[("the partitioned instance is unreachable", victim)] == "ok"
    assert by_host[("the other instances keep serving", other)] == "ok"
    assert by_host[("the partition heals when its 2 seconds are up", victim)] == "ok"
    for host in (victim, other):
        assert by_host[("every instance is reachable and healthy", host)] == "ok"
        assert by_host[("every instance runs the known-good version", host)] == "ok"
    assert result["measured"]["downtime_s"] > 0  # the health probe saw the outage
    assert not drillctl_rules(victim), "the partition outlived the drill"


# -- every playbook lints clean -----------------------------------------------------------------


@pytest.mark.parametrize(
    "playbook", sorted(p.name for p in (REPO / "playbooks").glob("*.yml")), ids=str
)
def test_every_playbook_lints_clean_with_its_inventory(playbook: str) -> None:
    inventory = INVENTORY_OF.get(playbook, LOCAL)
    proc = run_drillctl("lint", f"playbooks/{playbook}", "-i", inventory, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout) == [], proc.stdout
