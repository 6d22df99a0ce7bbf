"""Acceptance: the data read-back tells the truth. A slow read finds every write (locally and
over SSH); a read that fails, times out or prints something else leaves the data figures
null with the reason and fails an RPO objective; never "every write lost"."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.lab.ssh_lab import SshLab
from tests.conftest import REPO, child_env, run_drillctl

pytestmark = pytest.mark.integration

LEDGER = "{dir}/ledger-{{{{ inventory_hostname }}}}"


def playbook(tmp_path: Path, read: dict[str, str], **extra: Any) -> Path:
    """A drill whose data probe appends its sequence numbers to a file per host and reads
    them back with `read`; the change lasts a second and breaks nothing."""
    ledger = LEDGER.format(dir=tmp_path)
    book: dict[str, Any] = {
        "drill": "read-back",
        "rollback_type": 2,
        "rollback_when": "failure",
        "objectives": {"rpo": "0s"},
        "hosts": "all",
        "probes": {
            "ledger": {
                "data": {
                    "write": {"shell": f"echo {{{{ seq }}}} >> {ledger}"},
                    "read": {k: v.replace("LEDGER", ledger) for k, v in read.items()},
                },
                "every": "100ms",
            }
        },
        "deploy": [{"name": "the change", "shell": "sleep 1"}],
        **extra,
    }
    path = tmp_path / "drill.yml"
    path.write_text(yaml.safe_dump(book, sort_keys=False))
    return path


def run(tmp_path: Path, book: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    proc = run_drillctl("run", str(book), "--out", str(out), *args, timeout=180)
    result = json.loads((out / "result.json").read_text())
    return proc.returncode, result, proc.stdout + proc.stderr


def assert_nothing_lost(code: int, result: dict[str, Any], output: str, hosts: int) -> None:
    assert code == 0, output
    assert result["measured"]["lost_writes"] == 0
    assert result["measured"]["rpo_s"] == 0.0
    assert result["verdicts"]["rpo"] == "met"
    assert len(result["data"]) == hosts
    for block in result["data"]:
        assert block["lost"] == 0 and block["stable"] >= 5, block


@pytest.mark.parametrize("delay", ["0.2", "1", "3"])
def test_a_slow_read_back_finds_every_write_locally(tmp_path: Path, delay: str) -> None:
    book = playbook(tmp_path, {"shell": f"sleep {delay}; cat LEDGER"})
    code, result, output = run(tmp_path, book)
    assert_nothing_lost(code, result, output, hosts=1)


@pytest.mark.parametrize("delay", ["0.2", "1", "3"])
def test_a_slow_read_back_finds_every_write_over_ssh(
    tmp_path: Path, ssh_hosts: SshLab, delay: str
) -> None:
    book = playbook(tmp_path, {"shell": f"sleep {delay}; cat LEDGER"})
    code, result, output = run(tmp_path, book, "-i", str(ssh_hosts.inventory))
    assert_nothing_lost(code, result, output, hosts=len(ssh_hosts.addresses))
    assert {b["probe"].split("@")[1] for b in result["data"]} == set(ssh_hosts.addresses)


def assert_not_measured(code: int, result: dict[str, Any], output: str, why: str) -> None:
    """Null figures with the reason, the RPO objective not measured, the drill failed."""
    assert code == 1, output
    measured = result["measured"]
    assert measured["lost_writes"] is None and measured["rpo_s"] is None
    assert why in measured["reasons"]["lost_writes"] and why in measured["reasons"]["rpo_s"]
    assert result["verdicts"]["rpo"] == "not measured"
    assert result["status"] == "failed" and "RPO objective of 0s not measured" in result["reason"]
    for block in result["data"]:
        assert block["lost"] is None and block["stable"] is None and block["lost_writes"] is None
        assert why in block["reasons"]["lost_writes"]


@pytest.mark.parametrize(
    ("read", "why"),
    [
        (
            {"shell": "echo store unavailable >&2; exit 1", "timeout": "1s", "deadline": "2s"},
            "store unavailable",
        ),
        ({"shell": "sleep 30; cat LEDGER", "timeout": "1s", "deadline": "2s"}, "timed out"),
    ],
    ids=["fails", "times-out"],
)
def test_a_read_back_that_always_fails_leaves_the_data_figures_null(
    tmp_path: Path, read: dict[str, Any], why: str
) -> None:
    code, result, output = run(tmp_path, playbook(tmp_path, read))
    assert_not_measured(code, result, output, why)
    assert "attempt(s)" in result["measured"]["reasons"]["rpo_s"]
    # Every report says so: the objective is a failure, not a pass nor a skip.
    [out] = tmp_path.glob("run-*")
    junit = ET.parse(out / "junit.xml").getroot()
    [rpo] = [c for c in junit.iter("testcase") if c.get("name") == "rpo"]
    assert rpo.find("failure") is not None and rpo.find("skipped") is None
    assert "| RPO | 0.00 s | not measured | ❌ not measured |" in (out / "report.md").read_text()


def test_a_read_back_that_always_fails_over_ssh_leaves_the_figures_null(
    tmp_path: Path, ssh_hosts: SshLab
) -> None:
    book = playbook(
        tmp_path, {"shell": "echo no such table >&2; exit 3", "timeout": "1s", "deadline": "1s"}
    )
    code, result, output = run(tmp_path, book, "-i", str(ssh_hosts.inventory))
    assert_not_measured(code, result, output, "no such table")


LABELLED = {"shell": "sed 's/^/probe-/' LEDGER"}  # prints probe-1, probe-2, …
STAMPED = {"shell": "sed 's/^/drill:2026:seq:/' LEDGER"}  # prints drill:2026:seq:1, …
STRINGS = {  # prints a JSON array of strings: ["1","2",…]
    "shell": 'awk \'BEGIN{printf "["} {printf "%s\\"%s\\"", (NR>1?",":""), $0} '
    'END{print "]"}\' LEDGER',
    "format": "json",
}


@pytest.mark.parametrize(
    ("read", "why"),
    [
        (LABELLED, "line 1 'probe-1' is not a sequence number"),
        (STAMPED, "line 1 'drill:2026:seq:1' is not a sequence number"),
        (STRINGS, """item 0 is string '"1"', not a non-negative integer"""),
    ],
    ids=["probe-N", "drill:2026:seq:N", "json-strings"],
)
def test_records_in_another_format_are_refused_naming_the_line_never_lost(
    tmp_path: Path, read: dict[str, Any], why: str
) -> None:
    code, result, output = run(
        tmp_path, playbook(tmp_path, {**read, "timeout": "1s", "deadline": "1s"})
    )
    assert_not_measured(code, result, output, why)


@pytest.mark.parametrize(
    "read",
    [{**LABELLED, "pattern": r"^probe-(\d+)$"}, {**STAMPED, "pattern": r"seq:(\d+)$"}],
    ids=["probe-N", "drill:2026:seq:N"],
)
def test_records_read_with_a_pattern_are_parsed_as_documented(
    tmp_path: Path, read: dict[str, Any]
) -> None:
    code, result, output = run(tmp_path, playbook(tmp_path, read))
    assert_nothing_lost(code, result, output, hosts=1)


def test_json_integers_are_read_as_documented(tmp_path: Path) -> None:
    read = {"shell": 'echo "[$(paste -sd, LEDGER)]"', "format": "json"}
    code, result, output = run(tmp_path, playbook(tmp_path, read))
    assert_nothing_lost(code, result, output, hosts=1)


def test_a_prepare_that_resets_the_store_is_not_data_loss(tmp_path: Path) -> None:
    # prepare brings the baseline: it lets the probe write, then empties the store.
    ledger = LEDGER.format(dir=tmp_path).replace("{{ inventory_hostname }}", "localhost")
    prepare = [{"name": "reset the store", "shell": f"sleep 1; : > {ledger}"}]
    book = playbook(tmp_path, {"shell": "cat LEDGER"}, prepare=prepare)
    code, result, output = run(tmp_path, book)
    assert_nothing_lost(code, result, output, hosts=1)
    [block] = result["data"]
    assert block["not_judged"] >= 5  # the prepare-time writes, judged neither way
    # Judged from the start of prepare, the same reset is data loss, and fails the RPO.
    book = playbook(tmp_path, {"shell": "cat LEDGER"}, prepare=prepare, measure_from="prepare")
    code, result, output = run(tmp_path, book)
    assert code == 1, output
    assert result["measured"]["lost_writes"] >= 5 and result["verdicts"]["rpo"] == "missed"


def test_a_prepare_that_restarts_the_service_is_not_downtime(tmp_path: Path) -> None:
    down = tmp_path / "down"
    book = {
        "drill": "window",
        "rollback_type": 2,
        "rollback_when": "failure",
        "hosts": "all",
        "probes": {"health": {"command": f"test ! -e {down}", "every": "100ms"}},
        "prepare": [{"name": "restart", "shell": f"touch {down}; sleep 0.6; rm {down}"}],
        "deploy": [{"name": "the change", "shell": "sleep 0.5"}],
    }
    path = tmp_path / "drill.yml"
    path.write_text(yaml.safe_dump(book))
    code, result, output = run(tmp_path, path)
    assert code == 0, output
    assert result["measured"]["downtime_s"] == 0.0
    assert result["timeline"]["no_incident"] is True
    path.write_text(yaml.safe_dump({**book, "measure_from": "prepare"}))
    code, result, output = run(tmp_path, path)
    assert code == 0, output  # no objective is owed; the figures now include prepare
    assert 0.3 <= result["measured"]["downtime_s"] <= 1.2


def test_an_rto_objective_without_an_availability_probe_fails_as_not_measured(
    tmp_path: Path,
) -> None:
    book = playbook(tmp_path, {"shell": "cat LEDGER"}, objectives={"rto": "1m", "rpo": "0s"})
    code, result, output = run(tmp_path, book)
    assert code == 1, output
    assert result["verdicts"] == {**result["verdicts"], "rto": "not measured", "rpo": "met"}
    assert result["measured"]["rto_s"] is None
    assert "no availability probe" in result["measured"]["reasons"]["rto_s"]
    assert "RTO objective of 60s not measured" in result["reason"]


def test_every_0s_is_a_located_error_in_lint_and_plan(tmp_path: Path) -> None:
    book = playbook(tmp_path, {"shell": "cat LEDGER"})
    text = book.read_text().replace("every: 100ms", "every: 0s")
    assert "every: 0s" in text
    book.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if "every: 0s" in t)
    col = text.splitlines()[line - 1].index("0s") + 1
    for command in ("lint", "plan"):
        proc = run_drillctl(command, str(book))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        expected = f"{book}:{line}:{col}: probes.ledger.every: '0s' is too short"
        assert expected in proc.stdout + proc.stderr


KILL_A_WORKER = """
import sys
import time
import xml.etree.ElementTree as ET
import runner.measure.probes as probes

original = probes.ProbeRunner._sample
count = {"n": 0}


def sample(self, instance):
    count["n"] += 1
    if count["n"] == 8:  # mid-run: after a few healthy samples
        raise RuntimeError("probe worker killed by the test")
    return original(self, instance)


probes.ProbeRunner._sample = sample
from runner.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_a_probe_worker_killed_mid_run_makes_the_run_an_error(tmp_path: Path) -> None:
    book = {
        "drill": "dead worker",
        "rollback_type": 2,
        "hosts": "all",
        "probes": {"health": {"command": "true", "every": "100ms"}},
        "deploy": [{"name": "the change", "shell": "sleep 30"}],
        "rollback": [{"name": "undo", "shell": f"touch {tmp_path}/rolled-back"}],
    }
    path = tmp_path / "drill.yml"
    path.write_text(yaml.safe_dump(book))
    out = tmp_path / "run"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", KILL_A_WORKER, "run", str(path), "--out", str(out)],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert proc.returncode == 3, proc.stdout + proc.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "error"
    # The change nobody watched any more was stopped and rolled back.
    assert took < 20, "the dead worker should have stopped the 30 s deploy step"
    assert result["trigger"]["kind"] == "probe_failed" and result["trigger"]["phase"] == "deploy"
    assert (tmp_path / "rolled-back").exists()
    assert "probe worker probe-health@localhost died" in result["reason"]
    assert "killed by the test" in result["reason"]
    assert "measurement broken" in proc.stdout + proc.stderr
    events = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    assert [e["probe"] for e in events if e["event"] == "probe_worker_died"] == [
        "probe-health@localhost"
    ]
