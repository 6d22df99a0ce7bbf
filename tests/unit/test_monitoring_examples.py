"""The shipped alert rules and dashboard use only metrics drillctl really pushes, and the
rules load in Prometheus' own checker."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from runner.report.pushgateway import FIGURES

DOCS = Path(__file__).resolve().parents[2] / "docs"
PUSHED = {
    "drillctl_run_passed",
    "drillctl_run_status",
    "drillctl_run_end_timestamp_seconds",
    "drillctl_run_duration_seconds",
    "drillctl_run_objective_met",
    *(f"drillctl_run_{name}" for name, _ in FIGURES.values()),
}


def _exprs() -> list[str]:
    rules = yaml.safe_load((DOCS / "monitoring" / "drillctl-alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dash = json.loads((DOCS / "monitoring" / "drillctl-dashboard.json").read_text())
    exprs += [t["expr"] for p in dash["panels"] for t in p["targets"]]
    return exprs


def test_every_metric_in_the_examples_is_one_drillctl_pushes_and_documents() -> None:
    used = {m for e in _exprs() for m in re.findall(r"\bdrillctl_run_\w+", e)}
    assert used and used <= PUSHED, used - PUSHED
    documented = set(re.findall(r"`(drillctl_run_\w+)", (DOCS / "monitoring.md").read_text()))
    assert documented == PUSHED


def test_the_alert_rules_pass_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool is missing (Debian: apt-get install prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(
        [promtool, "check", "rules", str(DOCS / "monitoring" / "drillctl-alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
