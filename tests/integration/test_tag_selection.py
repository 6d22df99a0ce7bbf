"""Tags select the change, never the proof: rollback, verify and cleanup always run, an
unknown tag is bad input, and a run in which no change step ran cannot pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_drillctl

pytestmark = pytest.mark.integration

DRILL = """\
drill: tagged
rollback_type: 2
prepare:
  - {name: baseline, shell: "touch DIR/prepared"}
deploy:
  - {name: ship it, shell: "touch DIR/deployed", tags: [release]}
inject:
  - {name: break it, shell: "touch DIR/injected", tags: [chaos]}
  - {name: expensive, shell: "touch DIR/never", tags: [never, deep]}
rollback:
  - {name: undo, shell: "touch DIR/rolled-back", tags: [release]}
verify:
  - {name: check, shell: "touch DIR/verified", tags: [smoke]}
cleanup:
  - {name: tidy, shell: "touch DIR/cleaned", tags: [release]}
"""


def run(
    write_playbook: Any, tmp_path: Path, *options: str, text: str = DRILL
) -> tuple[int, str, dict[str, Any]]:
    playbook = write_playbook(text.replace("DIR", str(tmp_path)))
    out = tmp_path / "run"
    proc = run_drillctl("run", str(playbook), "--out", str(out), *options)
    result_file = out / "result.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, result


def touched(tmp_path: Path) -> set[str]:
    names = ("prepared", "deployed", "injected", "never", "rolled-back", "verified", "cleaned")
    return {n for n in names if (tmp_path / n).exists()}


def test_an_unknown_tag_is_bad_input_naming_the_known_tags(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, result = run(write_playbook, tmp_path, "--tags", "nosuchtag")
    assert rc == 2, output
    assert "<command line>:1:1: --tags nosuchtag: no step of" in output
    assert "known tags: all, always, chaos, deep, never, release, smoke" in output
    assert "Traceback" not in output
    assert result == {} and touched(tmp_path) == set()  # nothing ran


def test_an_unknown_skip_tag_is_bad_input_too(write_playbook: Any, tmp_path: Path) -> None:
    rc, output, _ = run(write_playbook, tmp_path, "--skip-tags", "chaoss")
    assert rc == 2, output
    assert "--skip-tags chaoss" in output and touched(tmp_path) == set()


def test_a_known_tag_is_accepted_by_plan_and_an_unknown_one_refused(
    write_playbook: Any, tmp_path: Path
) -> None:
    playbook = write_playbook(DRILL.replace("DIR", str(tmp_path)))
    assert run_drillctl("plan", str(playbook), "--tags", "chaos").returncode == 0
    refused = run_drillctl("plan", str(playbook), "--tags", "chaos", "--tags", "nope")
    assert refused.returncode == 2 and "--tags nope" in refused.stderr


def test_tags_on_an_inject_step_still_run_rollback_verify_and_cleanup(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, result = run(write_playbook, tmp_path, "--tags", "chaos")
    assert rc == 0, output
    # The tagged change ran; the untagged prepare and deploy did not; the proof ran whole.
    assert touched(tmp_path) == {"injected", "rolled-back", "verified", "cleaned"}
    ran = {(s["phase"], s["name"]) for s in result["steps"]}
    assert ("rollback", "undo") in ran and ("cleanup", "tidy") in ran and ("verify", "check") in ran
    assert result["status"] == "passed"


def test_skip_tags_cannot_skip_the_rollback_verify_or_cleanup(
    write_playbook: Any, tmp_path: Path
) -> None:
    rc, output, _ = run(write_playbook, tmp_path, "--skip-tags", "release", "--skip-tags", "smoke")
    assert rc == 0, output
    assert touched(tmp_path) == {"prepared", "injected", "rolled-back", "verified", "cleaned"}


def test_never_steps_run_only_when_asked_for(write_playbook: Any, tmp_path: Path) -> None:
    rc, output, _ = run(write_playbook, tmp_path, "--tags", "deep")
    assert rc == 0, output
    assert "never" in touched(tmp_path) and "injected" not in touched(tmp_path)


def test_all_selects_every_step_but_the_never_ones(write_playbook: Any, tmp_path: Path) -> None:
    rc, output, _ = run(write_playbook, tmp_path, "--tags", "all")
    assert rc == 0, output
    assert touched(tmp_path) == {
        "prepared", "deployed", "injected", "rolled-back", "verified", "cleaned",
    }  # fmt: skip


def test_a_run_in_which_no_change_step_ran_fails(write_playbook: Any, tmp_path: Path) -> None:
    # `smoke` is only on a verify step: the change is tagged away entirely.
    rc, output, result = run(write_playbook, tmp_path, "--tags", "smoke")
    assert rc == 1, output
    assert result["status"] == "failed"
    assert "no change step ran" in result["reason"]
    assert {"rolled-back", "verified", "cleaned"} <= touched(tmp_path)
    # verify itself passed; the reports still carry the run's verdict, never "Pass".
    assert [p["status"] for p in result["phases"] if p["phase"] == "verify"] == ["ok"]
    page = (tmp_path / "run" / "report.html").read_text()
    assert "<th>Final validation</th><td>Fail (failed): no change step ran" in page
    assert "Pass" not in (tmp_path / "run" / "report.md").read_text()
    assert result["issues"][0]["kind"] == "run"


def test_a_change_skipped_by_when_is_no_change_either(write_playbook: Any, tmp_path: Path) -> None:
    text = """\
    drill: skipped
    rollback_type: 2
    deploy:
      - {name: ship it, shell: "true", when: "false"}
    rollback:
      - {name: undo, shell: "true"}
    """
    rc, output, result = run(write_playbook, tmp_path, text=text)
    assert rc == 1 and result["status"] == "failed", output
    assert "no change step ran" in result["reason"]
