"""The folder an Ansible team keeps (inventory, Ansible playbooks, a drill), with drillctl run
in it as a user would: the set-up the Ansible and vault integration tests share."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import child_env, drillctl_argv, events

# One host that Ansible and drillctl both reach on the controller itself.
LOCAL_INVENTORY = "all:\n  hosts:\n    app1:\n      connection: local\n"


class DrillRun:
    """A finished `drillctl run`: its exit code and output, and the evidence in its run dir."""

    def __init__(self, done: subprocess.CompletedProcess[str], run_dir: Path) -> None:
        self.returncode = done.returncode
        self.stdout, self.stderr = done.stdout, done.stderr
        self.run_dir = run_dir

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def result(self) -> dict[str, Any]:
        return dict(json.loads((self.run_dir / "result.json").read_text()))

    def events(self) -> list[dict[str, Any]]:
        return events(self.run_dir)


class AnsibleFolder:
    """A temporary folder laid out as an Ansible team's, where drillctl runs as a user would."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        """A file in the folder (dedented), such as an Ansible playbook or a drill."""
        path = self.root / name
        path.write_text(textwrap.dedent(text))
        return path

    def local_inventory(self, host_vars: str = "", name: str = "hosts.yml") -> Path:
        """An inventory of `app1` on the controller; `host_vars` are YAML lines under it."""
        path = self.root / name
        lines = "".join(f"      {line}\n" for line in host_vars.splitlines())
        path.write_text(LOCAL_INVENTORY + lines)
        return path

    def drillctl(
        self, *args: str, timeout: float = 180, input: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """`drillctl ARGS` run from the folder, with `env` added to its environment."""
        return subprocess.run(
            drillctl_argv(*args),
            cwd=self.root,
            env=child_env(**env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def run(self, drill: Path, inventory: Path, *args: str, timeout: float = 180) -> DrillRun:
        """`drillctl run DRILL -i INVENTORY --out run ARGS`, its evidence kept in `run/`."""
        run_dir = self.root / "run"
        done = self.drillctl(
            "run", str(drill), "-i", str(inventory), "--out", str(run_dir), *args, timeout=timeout
        )
        return DrillRun(done, run_dir)
