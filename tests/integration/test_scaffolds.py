"""`drillctl new KIND NAME`: every scaffold lints clean and runs end to end on its lab, and an
existing playbook is never overwritten."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab import docker_lab
from runner.scaffold import KINDS, LAB_INVENTORY
from tests.conftest import REPO, free_port, run_drillctl
from tests.lab.docker_lab import docker_engine

pytestmark = pytest.mark.integration
__all__ = ["docker_engine"]

LOCAL_KINDS = [kind for kind in KINDS if LAB_INVENTORY[kind] == "inventories/local.yml"]
# Unique per run: two runs of the suite on one machine must not share containers.
PREFIX = f"drillctl-test-new-{uuid.uuid4().hex[:6]}"


def scaffold(tmp_path: Path, kind: str, name: str) -> Path:
    proc = run_drillctl("new", kind, name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = tmp_path / "playbooks" / f"{name}.yml"
    assert f"wrote playbooks/{name}.yml" in proc.stdout
    assert f"drillctl run playbooks/{name}.yml -i {LAB_INVENTORY[kind]}" in proc.stdout
    return path


def inventory_copy(tmp_path: Path, source: str) -> Path:
    """The lab inventory, copied: drills on one inventory file take turns (its lock)."""
    path = tmp_path / Path(source).name
    shutil.copy(REPO / source, path)
    return path


def lint_json(path: Path, inventory: Path) -> list[dict[str, Any]]:
    proc = run_drillctl("lint", str(path), "-i", str(inventory), "--format", "json", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    findings: list[dict[str, Any]] = json.loads(proc.stdout)
    return findings


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_scaffold_lints_clean_against_its_lab_inventory(tmp_path: Path, kind: str) -> None:
    path = scaffold(tmp_path, kind, f"orders-{kind}")
    text = path.read_text()
    assert "__NAME__" not in text
    drill = yaml.safe_load(text)
    assert drill["component"] == f"orders-{kind}"
    assert drill["drill"].startswith(f"orders-{kind} ")
    assert lint_json(path, inventory_copy(tmp_path, LAB_INVENTORY[kind])) == []


@pytest.mark.parametrize("kind", LOCAL_KINDS)
def test_every_local_lab_scaffold_runs_and_passes(tmp_path: Path, kind: str) -> None:
    path = scaffold(tmp_path, kind, "drill")
    out = tmp_path / "run"
    inventory = inventory_copy(tmp_path, "inventories/local.yml")
    proc = run_drillctl(
        "run", str(path), "-i", str(inventory), "-e", f"lab_port={free_port()}",
        "--out", str(out), cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "passed", result
    assert result["rolled_back"] is True and result["rollback_succeeded"] is True
    verify = [s for s in result["steps"] if s["phase"] == "verify"]
    assert verify and {s["status"] for s in verify} == {"ok"}


@pytest.fixture
def docker_lab_inventory(docker_engine: Any, tmp_path: Path) -> Iterator[Path]:
    """Two lab containers on free ports, and an inventory like inventories/docker-lab.yml."""
    lab = docker_lab.up(2, first_port=0, prefix=PREFIX)  # ports Docker picks as it binds
    try:
        inventory = yaml.safe_load((REPO / "inventories" / "docker-lab.yml").read_text())
        inventory["all"]["children"]["gateway"]["hosts"] = {
            name: {"lab_url": f"http://127.0.0.1:{port}"}
            for name, port in zip(lab.containers, lab.ports, strict=True)
        }
        path = tmp_path / "docker-lab.yml"
        path.write_text(yaml.safe_dump(inventory))
        yield path
    finally:
        docker_lab.down(prefix=PREFIX)


def test_the_network_scaffold_runs_on_the_docker_lab(
    docker_lab_inventory: Path, tmp_path: Path
) -> None:
    path = scaffold(tmp_path, "network", "partition")
    out = tmp_path / "run"
    proc = run_drillctl(
        "run", str(path), "-i", str(docker_lab_inventory), "--out", str(out), cwd=tmp_path,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "passed", result
    [fault] = result["faults"]
    assert fault["kind"] == "network.partition" and fault["reverted_at"]


def test_new_never_overwrites_a_playbook(tmp_path: Path) -> None:
    existing = tmp_path / "playbooks" / "orders.yml"
    existing.parent.mkdir()
    existing.write_text("drill: mine\n")
    proc = run_drillctl("new", "config", "orders", cwd=tmp_path)
    assert proc.returncode == 2
    assert "playbooks/orders.yml:1:1: already exists" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert existing.read_text() == "drill: mine\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["config", "../escape"], "drill name '../escape'"),
        (["config", ""], "drill name ''"),
    ],
)
def test_new_refuses_a_name_that_is_not_a_file_name(
    tmp_path: Path, args: list[str], message: str
) -> None:
    proc = run_drillctl("new", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert f"<command line>:1:1: {message}" in proc.stderr
    assert not (tmp_path / "playbooks").exists()


def test_new_of_an_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_drillctl("new", "mainframe", "x", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice: 'mainframe'" in proc.stderr
