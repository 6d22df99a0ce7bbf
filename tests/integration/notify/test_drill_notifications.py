"""A drill tells its stakeholders what the procedure says, when it says: at the start, when
the rollback begins (with the trigger and an ETA), per rollback step, and at the end with
the figures; through a real webhook and a real SMTP server, every delivery journaled before
the run's final event, secrets masked, and a dead channel costing the drill nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, events, free_port, run_drillctl
from tests.integration.notify.test_real_channels import smtp, webhook

pytestmark = pytest.mark.integration
__all__ = ["smtp", "webhook"]

TOKEN = "hk-7f3a'9/+="  # a lone quote: given as a JSON -e mapping, as Ansible requires


def _drill(tmp_path: Path, http_port: int, smtp_port: int, dead_port: int) -> Path:
    doc = yaml.safe_load((REPO / "playbooks" / "quickstart.yml").read_text())
    doc.pop("inventory", None)
    doc["secrets"] = [*doc.get("secrets", []), "hook_token"]
    doc["notify"] = {
        "change_kind": "application",
        "channels": {
            "hook": f"json://127.0.0.1:{http_port}/{{{{ hook_token | urlencode }}}}",
            "mail": f"mailto://127.0.0.1:{smtp_port}?from=drill@example.com"
            "&to=ops@example.com&mode=insecure",
            "dead": f"json://127.0.0.1:{dead_port}/nobody-listens",
        },
        "stakeholders": {"Operations": ["hook", "mail"], "QA team": ["mail"]},
        "timeout": "10s",  # a loaded CI machine: a real SMTP round trip can take seconds
        "templates": {"complete": "[ROLLBACK COMPLETE] {{ drill }}: {{ status }}. {{ figures }}"},
    }
    path = tmp_path / "drill.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_drill_notifies_start_rollback_progress_and_completion(
    tmp_path: Path, smtp: tuple[int, list[str]], webhook: tuple[int, list[dict[str, Any]]]
) -> None:
    smtp_port, mails = smtp
    http_port, posts = webhook
    playbook = _drill(tmp_path, http_port, smtp_port, free_port())
    out = tmp_path / "run"
    started = time.monotonic()
    done = run_drillctl(
        "run", str(playbook), "-i", str(REPO / "inventories" / "local.yml"),
        "-e", f"lab_port={free_port()}", "-e", json.dumps({"hook_token": TOKEN}), "--out", str(out),
    )  # fmt: skip
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    titles = [p["title"] for p in posts]
    assert titles[0].startswith("[DRILL]") and titles[1].startswith("[ROLLBACK]")
    assert "due to" in posts[1]["message"] and "Expected completion:" in posts[1]["message"]
    rollback_steps = [p for p in posts if p["title"].startswith("[ROLLBACK UPDATE]")]
    assert rollback_steps and "Step 1 of 2 complete" in rollback_steps[0]["message"]
    result = json.loads((out / "result.json").read_text())
    last = posts[-1]["message"]
    assert last.startswith(f"[ROLLBACK COMPLETE] {result['drill']}: PASSED.")
    assert f"RTO {result['measured']['rto_s']:.2f}s" in last
    assert len(mails) == len(posts) and "To: Operations, QA team" in mails[0]
    journal = events(out)
    kinds = [e["event"] for e in journal]
    final = kinds.index("run_finished")
    sent = [e for e in journal if e["event"] == "notify_sent"]
    failed = [e for e in journal if e["event"] == "notify_failed"]
    assert len(sent) == 2 * len(posts)
    assert {e["channel"] for e in failed} == {"dead"} and len(failed) == len(posts)
    assert max(i for i, k in enumerate(kinds) if k.startswith("notify_")) < final
    everything = done.stdout + done.stderr + (out / "journal.jsonl").read_text()
    everything += json.dumps(posts) + "".join(mails) + (out / "result.json").read_text()
    assert TOKEN not in everything and "hk-7f3a" not in everything
    assert took < 60


def test_a_notify_block_naming_an_unknown_channel_is_bad_input_and_nothing_runs(
    tmp_path: Path,
) -> None:
    playbook = _drill(tmp_path, free_port(), free_port(), free_port())
    doc = yaml.safe_load(playbook.read_text())
    doc["notify"]["stakeholders"]["Compliance"] = ["pager"]
    playbook.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "run"
    done = run_drillctl(
        "run", str(playbook), "-i", str(REPO / "inventories" / "local.yml"),
        "-e", f"lab_port={free_port()}", "-e", "hook_token=x", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{playbook}:" in done.stderr and "'pager'" in done.stderr
    assert not out.exists()


def test_the_inventory_can_carry_the_communication_plan_for_every_drill(
    tmp_path: Path, webhook: tuple[int, list[dict[str, Any]]]
) -> None:
    http_port, posts = webhook
    inventory = yaml.safe_load((REPO / "inventories" / "local.yml").read_text())
    inventory["all"]["vars"]["notify"] = {
        "channels": {"hook": f"json://127.0.0.1:{http_port}/estate"},
        "stakeholders": {"Operations": ["hook"]},
        "events": ["rollback", "complete", "failure"],
    }
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory))
    doc = yaml.safe_load((REPO / "playbooks" / "quickstart.yml").read_text())
    doc.pop("inventory", None)
    playbook = tmp_path / "drill.yml"
    playbook.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "run"
    done = run_drillctl(
        "run", str(playbook), "-i", str(inv), "-e", f"lab_port={free_port()}", "--out", str(out)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p["title"].split("]")[0] + "]" for p in posts] == ["[ROLLBACK]", "[ROLLBACK COMPLETE]"]
    assert all(p["message"].endswith("To: Operations") for p in posts)


def test_a_bad_communication_plan_in_the_inventory_is_bad_input(tmp_path: Path) -> None:
    inventory = yaml.safe_load((REPO / "inventories" / "local.yml").read_text())
    inventory["all"]["vars"]["notify"] = {"channels": {}}
    inv = tmp_path / "inventory.yml"
    inv.write_text(yaml.safe_dump(inventory))
    out = tmp_path / "run"
    done = run_drillctl(
        "run", str(REPO / "playbooks" / "quickstart.yml"), "-i", str(inv),
        "-e", f"lab_port={free_port()}", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 2 and f"{inv}:1:1: all.vars.notify.channels" in done.stderr
    assert not out.exists()
