"""Acceptance: a secret stays secret in every form a template or a program makes of it.

The secret holds a quote, a slash and URL/shell metacharacters, goes through `urlencode`,
`quote`, `to_json`, `tojson` and `b64encode`, sits at the tail of long output and across
the cut where the journal truncates it, and appears in error messages at plan time and at
run time. Neither it nor any derived form may reach the terminal, the journal, result.json,
the reports, junit.xml or the history store.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from runner.engine.steps import OUTPUT_KEEP
from tests.conftest import child_env, drillctl_argv

pytestmark = pytest.mark.integration

SECRET = "s3cr'et/+=&x"
# A lone quote in a `-e NAME=VALUE` is refused, as ansible-core refuses it: the secret is
# passed as a JSON mapping, the form Ansible users give such values in.
SECRET_VAR = json.dumps({"pw": SECRET})
MASK = "********"


def forms(value: str) -> dict[str, str]:
    """Every form the drill below makes of `value`, computed here independently of drillctl,
    plus the pieces a truncation would leave."""
    raw = value.encode()
    return {
        "raw": value,
        "urlencode (quote, safe='/')": urllib.parse.quote(value, safe="/"),
        "quote, safe=''": urllib.parse.quote(value, safe=""),
        "quote_plus": urllib.parse.quote_plus(value),
        "shell-quoted": shlex.quote(value),
        "inside a single-quoted word": value.replace("'", "'\"'\"'"),
        "JSON": json.dumps(value),
        "tojson (HTML-safe JSON)": (
            json.dumps(value).replace("'", "\\u0027").replace("&", "\\u0026")
        ),
        "base64": base64.b64encode(raw).decode(),
        "base64 of user:secret": base64.b64encode(b"user:" + raw).decode(),
        "hex": raw.hex(),
        "head of the value": value[:6],
        "tail of the value": value[-6:],
    }


DRILL = """\
drill: secret forms
rollback_type: 2
secrets: [pw]
deploy:
  - name: derived forms
    shell: >-
      echo U={{ pw | urlencode }} Q={{ pw | quote }} J={{ pw | to_json | quote }}
      T={{ pw | tojson | quote }} B={{ pw | b64encode }} A={{ ('user:' ~ pw) | b64encode }}
  - name: secret at the tail of long output
    shell: "head -c 9000 /dev/zero | tr '\\\\0' a; printf %s {{ pw | quote }}"
  - name: secret across the cut
    shell: >-
      head -c 9000 /dev/zero | tr '\\0' a; printf %s {{ pw | quote }};
      head -c {{ keep | int - 5 }} /dev/zero | tr '\\0' b
  - name: secret in stderr, base64 at the tail
    shell: "printf %s {{ pw | b64encode }} >&2; exit 3"
    ignore_errors: true
  - name: read it back
    shell: "printf %s {{ pw | quote }}"
    register: out
  - name: an error message at run time names the value
    command: "/nonexistent/{{ out.stdout | quote }}"
    ignore_errors: true
  - name: an assertion message names the value
    assert: {that: "pw == 'nope'", fail_msg: "pw was {{ pw }} / {{ pw | urlencode }}"}
    ignore_errors: true
  - name: credentials in a URL
    http: {url: "http://user:{{ pw | urlencode | replace('/', '%2F') }}@127.0.0.1:9/x"}
    ignore_errors: true
rollback:
  - shell: "echo rolled back"
verify:
  - {name: check, command: "true"}
"""

PLAN_ERROR_DRILL = """\
drill: secret in a plan error
rollback_type: 2
secrets: [pw]
deploy:
  - name: a missing key named by the secret
    shell: "echo {{ {}[pw] }}"
  - name: a password not URL-encoded
    http: {url: "http://user:{{ pw }}@127.0.0.1:9/"}
rollback:
  - shell: "true"
"""


def drillctl(*args: str, history: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        drillctl_argv(*args),
        env=child_env(DRILLCTL_HISTORY=str(history)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_no_form(text: str, where: str) -> None:
    for name, form in forms(SECRET).items():
        assert form not in text, f"{name} of the secret ({form!r}) leaked into {where}"


def test_no_form_of_a_secret_reaches_output_journal_reports_or_history(
    write_playbook: Any, tmp_path: Path
) -> None:
    playbook = write_playbook(DRILL)
    out, history = tmp_path / "run", tmp_path / "history.db"
    proc = drillctl(
        "run", str(playbook), "-v", "-e", SECRET_VAR, "-e", f"keep={OUTPUT_KEEP}",
        "--out", str(out), history=history,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    # The drill did what the test needs: each form was made, and masked where it shows.
    assert f"U={MASK} Q={MASK} J={MASK} T={MASK} B={MASK} A={MASK}" in proc.stdout
    assert "pw was ******** / ********" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert_no_form(proc.stdout + proc.stderr, "the terminal")

    journal = (out / "journal.jsonl").read_text()
    events = [json.loads(line) for line in journal.splitlines()]
    results = {e.get("step"): e for e in events if e.get("event") == "host_result"}
    tail = results["secret at the tail of long output"]["stdout"]
    assert len(tail) <= OUTPUT_KEEP and tail.endswith(MASK)  # truncated, and masked
    across = results["secret across the cut"]["stdout"]
    # The cut fell inside the secret; masking first leaves part of the mask, not of the secret.
    assert across.endswith("b" * (OUTPUT_KEEP - 5)) and across.startswith(MASK[-5:])
    failed = results["an error message at run time names the value"]
    assert failed["status"] == "ignored" and MASK in failed["msg"] + failed["stderr"], failed
    assert results["credentials in a URL"]["status"] == "ignored"

    files = {p.name: p for p in out.rglob("*") if p.is_file()}
    assert {"journal.jsonl", "result.json", "report.html", "report.md", "junit.xml"} <= set(files)
    for name, path in files.items():
        assert_no_form(path.read_text(errors="replace"), name)
    assert history.stat().st_size > 0
    assert_no_form(history.read_bytes().decode("utf-8", "replace"), "the history store")
    listing = drillctl("history", "list", history=history)
    assert listing.returncode == 0 and "1 run" in listing.stderr, listing.stderr
    run_id = listing.stdout.splitlines()[1].split()[0]
    shown = drillctl("history", "show", run_id, history=history)
    assert shown.returncode == 0 and run_id in shown.stdout, shown.stderr
    assert_no_form(listing.stdout + shown.stdout + shown.stderr, "history list/show")


def test_plan_errors_name_no_form_of_a_secret(write_playbook: Any, tmp_path: Path) -> None:
    playbook = write_playbook(PLAN_ERROR_DRILL)
    for command in ("run", "plan"):
        proc = drillctl(command, str(playbook), "-e", SECRET_VAR, history=tmp_path / "h.db")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert 'has no attribute "********"' in proc.stderr  # the message is there, masked
        assert "has a port that is not a number" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert_no_form(proc.stdout + proc.stderr, f"`{command}` errors")
    lint = drillctl("lint", str(playbook), "-e", SECRET_VAR, history=tmp_path / "h.db")
    assert_no_form(lint.stdout + lint.stderr, "lint")
