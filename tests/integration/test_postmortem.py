"""Acceptance: `drillctl postmortem` on a rolled-back run writes the procedures' agenda,
its timeline taken from the journal, row for row."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import events, run_drillctl, run_quickstart

pytestmark = pytest.mark.integration


def test_the_post_mortem_timeline_matches_the_journal_and_the_agenda_is_there(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    assert run_quickstart(out).returncode == 0
    done = run_drillctl("postmortem", str(out))
    assert done.returncode == 0, done.stderr
    text = (out / "postmortem.md").read_text()
    journal = {e["seq"]: e for e in events(out)}
    rows = re.findall(r"^\| (\d+) \| (\S+) \| (.+) \|$", text, re.M)
    assert rows, text
    for seq, time, _ in rows:
        assert journal[int(seq)]["time"] == time  # every row is a journal event, at its time
    kinds = [journal[int(seq)]["event"] for seq, _, _ in rows]
    assert [int(seq) for seq, _, _ in rows] == sorted(int(seq) for seq, _, _ in rows)
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    for needed in ("trigger_fired", "decision", "phase_started", "phase_finished"):
        assert needed in kinds
    rollback = [w for seq, _, w in rows if "rollback begins" in w or "rollback ends" in w]
    assert len(rollback) == 2
    result = json.loads((out / "result.json").read_text())
    assert f"Run `{result['run_id']}`" in text
    rto = result["measured"]["rto_s"]
    assert re.search(rf"\| RTO \| [^|]+ \| {rto:.2f} s \| met \|", text)
    for heading in (
        "Timeline review",
        "What happened?",
        "Why did it happen?",
        "Why wasn't it caught earlier?",
        "Was the rollback smooth?",
        "What went well?",
        "What could be improved?",
        "Root cause (5 whys)",
        "Action items",
    ):
        assert re.search(rf"^## .*{re.escape(heading)}", text, re.M), heading
    assert "| description | owner | due date | priority | success criteria |" in text


def test_a_directory_without_a_finished_run_is_bad_input(tmp_path: Path) -> None:
    done = run_drillctl("postmortem", str(tmp_path))
    assert done.returncode == 2
    assert f"{tmp_path / 'journal.jsonl'}:1:1: missing" in done.stderr
    assert not (tmp_path / "postmortem.md").exists()
