"""Acceptance: every run says where its evidence came from, and `verify` holds it to its journal.

A real quick-start run carries every provenance field in result.json and in each report; its
journal's head is in result.json and in the history; `head -n -1 journal.jsonl` and, for a
signed run, a recomputed chain are refused by `verify`; an untouched signed run verifies;
`approve` refuses a run that is not waiting, and an approval is recorded with its time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from runner import __version__
from runner.history import open_store
from runner.history.migrations import LATEST, MIGRATIONS, Migration
from runner.history.rows import utc_now
from tests.conftest import REPO, child_env, drillctl_argv, events, run_drillctl, run_quickstart

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("keys")
    made = run_drillctl("keygen", str(where / "drill.pem"))
    assert made.returncode == 0, made.stderr
    return where / "drill.pem", where / "drill.pem.pub"


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    out = tmp_path_factory.mktemp("signed") / "run"
    proc = run_quickstart(out, "--sign-key", str(keys[0]), "--operator", "alice")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def result_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "result.json").read_text())
    return data


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_result_json_of_a_quick_start_run_carries_every_provenance_field(
    signed_run: Path,
) -> None:
    prov = result_of(signed_run)["provenance"]
    assert prov["drillctl_version"] == __version__
    assert prov["playbook"] == {
        "path": "playbooks/quickstart.yml",
        "sha256": sha256(REPO / "playbooks/quickstart.yml"),
    }
    assert prov["inventory"] == {
        "path": "inventories/local.yml",
        "sha256": sha256(REPO / "inventories/local.yml"),
        "reason": None,
    }
    assert prov["git"]["commit"] == git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    assert prov["git"]["dirty"] is dirty and prov["git"]["reason"] is None
    assert prov["controller_host"] and isinstance(prov["controller_host"], str)
    assert prov["operator"] == "alice" == result_of(signed_run)["operator"]
    assert prov["approvers"] == []  # the quick start decides automatically
    journal = prov["journal"]
    lines = (signed_run / "journal.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["event"] == "run_finished"
    assert journal["head"] == last["hash"] and journal["events"] == len(lines)
    assert journal["signature"]["file"] == "journal.sig"
    assert journal["signature"]["key_id"].startswith("ed25519:")


def test_every_report_shows_the_provenance(signed_run: Path) -> None:
    prov = result_of(signed_run)["provenance"]
    head, playbook_sha = prov["journal"]["head"], prov["playbook"]["sha256"]
    for name in ("report.md", "report.html"):
        text = (signed_run / name).read_text()
        assert "Provenance" in text, name
        for fact in (
            head,
            playbook_sha,
            prov["inventory"]["sha256"],
            prov["git"]["commit"],
            prov["controller_host"],
            __version__,
        ):
            assert fact in text, (name, fact)
    props = {
        p.get("name"): p.get("value")
        for p in ET.parse(signed_run / "junit.xml").getroot().iter("property")
    }
    assert props["provenance.journal_head"] == head
    assert props["provenance.playbook_sha256"] == playbook_sha
    assert props["provenance.inventory_sha256"] == prov["inventory"]["sha256"]
    assert props["provenance.git_commit"] == prov["git"]["commit"]
    assert props["provenance.git_dirty"] == str(prov["git"]["dirty"]).lower()
    assert props["provenance.controller_host"] == prov["controller_host"]
    assert props["provenance.operator"] == "alice"
    assert props["provenance.drillctl_version"] == __version__
    assert props["provenance.journal_signature_key"] == prov["journal"]["signature"]["key_id"]


def test_an_untouched_signed_run_verifies_with_its_public_key(
    signed_run: Path, keys: tuple[Path, Path]
) -> None:
    proc = run_drillctl("verify", str(signed_run), "--pubkey", str(keys[1]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "signature valid" in proc.stdout


def test_head_minus_one_line_of_the_journal_is_refused(signed_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(signed_run, run)
    journal = run / "journal.jsonl"
    cut = subprocess.run(["head", "-n", "-1", str(journal)], capture_output=True, check=True)
    journal.write_bytes(cut.stdout)
    proc = run_drillctl("verify", str(run))
    assert proc.returncode == 1
    assert "the journal ends without its final event" in proc.stdout


def test_a_recomputed_chain_of_a_signed_run_is_refused(
    signed_run: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(signed_run, run)
    prev, out = "0" * 64, []
    for raw in (run / "journal.jsonl").read_bytes().splitlines():
        entry = json.loads(raw)
        entry.pop("hash")
        if entry["event"] == "host_result":
            entry["msg"] = "all fine"  # the edit
        entry["prev"] = prev
        body = json.dumps(entry, separators=(",", ":")).encode()
        prev = hashlib.sha256(body).hexdigest()
        out.append(body[:-1] + b',"hash":"' + prev.encode() + b'"}\n')
    (run / "journal.jsonl").write_bytes(b"".join(out))
    result = result_of(run)
    result["provenance"]["journal"]["head"] = prev
    (run / "result.json").write_text(json.dumps(result))
    proc = run_drillctl("verify", str(run), "--pubkey", str(keys[1]))
    assert proc.returncode == 1
    assert "rewritten after it was signed" in proc.stdout


def test_the_history_keeps_the_journal_head(signed_run: Path, tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with open_store(db) as store:
        store.import_run(signed_run)
        [row] = store.runs()
    assert row.journal_head == result_of(signed_run)["provenance"]["journal"]["head"]


def test_a_history_made_before_the_journal_head_column_is_migrated(
    signed_run: Path, tmp_path: Path
) -> None:
    db = tmp_path / "old.db"
    first: Migration = MIGRATIONS[0]
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for statement in first.statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (1, first.name, utc_now()))
    conn.close()
    with open_store(db) as store:
        assert store.version == LATEST >= 2
        store.import_run(signed_run)
        [row] = store.runs()
    assert row.journal_head == result_of(signed_run)["provenance"]["journal"]["head"]


def test_approve_refuses_a_run_that_is_not_waiting_for_a_decision(signed_run: Path) -> None:
    proc = run_drillctl("approve", str(signed_run), "--operator", "bob")
    assert proc.returncode == 2
    assert f"{signed_run}:1:1: nothing to approve: the run has finished" in proc.stderr
    assert not (signed_run / "approval.json").exists()


def test_approve_refuses_a_directory_without_a_run(tmp_path: Path) -> None:
    proc = run_drillctl("approve", str(tmp_path))
    assert proc.returncode == 2
    assert "nothing to approve: no journal.jsonl here" in proc.stderr


def test_an_approval_is_in_the_provenance_with_its_time(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    undone = tmp_path / "undone"
    playbook.write_text(
        "drill: manual\nrollback_type: 2\n"
        "decision: {manual: true, timeout: 30s, on_timeout: abort}\n"
        "deploy:\n  - {name: bad change, shell: 'exit 1'}\n"
        f"rollback:\n  - shell: 'touch {undone}'\n"
        f"verify:\n  - shell: 'test -e {undone}'\n"
    )
    out = tmp_path / "run"
    proc = subprocess.Popen(
        drillctl_argv("run", str(playbook), "--out", str(out)),
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not _asked(out):
            assert time.monotonic() < deadline, "the drill never asked for a decision"
            time.sleep(0.05)
        before = utc_now()
        approved = run_drillctl("approve", str(out), "--operator", "bob")
        assert approved.returncode == 0, approved.stderr
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stdout + stderr
    [approval] = result_of(out)["provenance"]["approvers"]
    assert approval["by"] == "bob" and approval["via"] == "approve"
    assert before <= approval["at"] <= result_of(out)["ended_at"]
    assert "bob at " + approval["at"] in (out / "report.md").read_text()
    again = run_drillctl("approve", str(out), "--operator", "carol")
    assert again.returncode == 2 and "nothing to approve" in again.stderr


def _asked(out: Path) -> bool:
    try:
        return any(e["event"] == "decision_requested" for e in events(out))
    except (FileNotFoundError, json.JSONDecodeError):
        return False
