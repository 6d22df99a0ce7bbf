"""Acceptance: `rollback: auto` after a docker.container image swap restores the exact image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import run_drillctl

pytestmark = pytest.mark.integration


def test_rollback_auto_restores_the_previous_image_and_keeps_the_configuration(
    make_container: Any, busybox_image: Any, tmp_path: Path
) -> None:
    container = make_container(environment={"APP_MODE": "prod"}, labels={"team": "gw"})
    before = container.attrs
    inventory = tmp_path / "inv.yml"
    hosts = {
        "localhost": {"connection": "local"},
        # The container itself, for verify to look inside it once it is rolled back.
        "app": {"connection": "docker", "container": container.name},
    }
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        yaml.safe_dump(
            {
                "drill": "container image rollback",
                "rollback_type": 2,
                "hosts": "localhost",
                "deploy": [
                    {
                        "name": "ship v2",
                        "docker.container": {"name": container.name, "image": busybox_image.v2},
                    },
                    {"name": "v2 is broken", "shell": "exit 1"},
                ],
                "rollback": "auto",
                "verify": [
                    {
                        "name": "v1 runs again",
                        "hosts": "app",
                        "shell": 'test ! -e /VERSION && test "$APP_VERSION" = 1',
                    }
                ],
            },
            sort_keys=False,
        )
    )
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "-i", str(inventory), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["rolled_back"] and result["rollback_succeeded"]
    undone = [s["name"] for s in result["steps"] if s["phase"] == "rollback"]
    assert len(undone) == 1 and undone[0].startswith("undo:"), undone
    after = container.client.containers.get(container.name).attrs
    assert after["Image"] == busybox_image.v1_id == before["Image"]
    assert after["Config"]["Labels"] == before["Config"]["Labels"]
    assert "APP_MODE=prod" in after["Config"]["Env"]
    assert after["State"]["Running"] is True
