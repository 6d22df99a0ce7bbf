"""Acceptance: secrets that came in shapes the form tests do not cover stay masked.

A secret given as a mapping (`-e '{"creds": {"password": ...}}'` with `secrets: [creds]`),
and a secret on a command line that drillctl refuses, must not reach the terminal or the
run directory in any form.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_drillctl

pytestmark = pytest.mark.integration

MASK = "********"

MAPPING_DRILL = """\
drill: a secret mapping
rollback_type: 2
secrets: [creds]
deploy:
  - name: use its parts
    shell: "echo P={{ creds.password }} K={{ creds.tokens[0] }}"
rollback:
  - shell: "true"
verify:
  - command: "true"
"""


def test_a_secret_given_as_a_mapping_is_masked_by_its_parts(
    write_playbook: Any, tmp_path: Path
) -> None:
    playbook = write_playbook(MAPPING_DRILL)
    creds = {"user": "app", "password": "Nested-Pa55", "tokens": ["ListSecret9"]}
    out = tmp_path / "run"
    proc = run_drillctl(
        "run", str(playbook), "-v", "-e", json.dumps({"creds": creds}), "--out", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"P={MASK} K={MASK}" in proc.stdout  # the output is there, masked
    texts = {"the terminal": proc.stdout + proc.stderr}
    texts |= {p.name: p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()}
    assert "journal.jsonl" in texts
    for where, text in texts.items():
        for part in ("Nested-Pa55", "ListSecret9"):
            assert part not in text, f"{part} leaked into {where}"


WRAPPED_DRILL = """\
drill: wrapped base64
rollback_type: 2
secrets: [pw]
deploy:
  - name: base64 as coreutils writes it
    shell: "printf 'user:%s' {{ pw | quote }} | base64"
rollback:
  - shell: "true"
verify:
  - command: "true"
"""


def test_a_secret_in_base64_wrapped_over_lines_is_masked(
    write_playbook: Any, tmp_path: Path
) -> None:
    secret = "a long secret: " + "Zq9-hunter2/" * 8
    encoded = base64.b64encode(f"user:{secret}".encode()).decode()
    playbook = write_playbook(WRAPPED_DRILL)
    out = tmp_path / "run"
    proc = run_drillctl(
        "run", str(playbook), "-v", "-e", json.dumps({"pw": secret}), "--out", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert encoded[:8] in proc.stdout and MASK in proc.stdout  # printed, wrapped, masked
    texts = {"the terminal": proc.stdout + proc.stderr}
    texts |= {p.name: p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()}
    for where, text in texts.items():
        # Read back as the wrapped lines joined: nothing past `user:` may be left.
        joined = text.replace("\\n", "").replace("\n", "").replace("stdout| ", "")
        assert encoded[12:40] not in joined, f"the secret's base64 leaked into {where}"


KEY_LINES = ("MIIEpAIBAAKCAQEA7secretline1xyz", "QWERTYsecretline2abcdef")
KEY = "-----BEGIN KEY-----\n" + "\n".join(KEY_LINES) + "\n-----END KEY-----\n"


@pytest.mark.parametrize("command", [("run", "--diff"), ("plan", "--diff")])
def test_a_multi_line_secret_written_to_a_file_is_masked_in_the_diff(
    command: tuple[str, str], write_playbook: Any, tmp_path: Path
) -> None:
    dest = tmp_path / "app.key"
    dest.write_text("old\n")
    playbook = write_playbook(f"""\
        drill: a key in a diff
        rollback_type: 2
        secrets: [key]
        deploy:
          - name: write key
            config: {{dest: "{dest}", content: "{{{{ key }}}}"}}
        rollback:
          - shell: "true"
        verify:
          - command: "true"
        """)
    args = [*command, str(playbook), "-e", json.dumps({"key": KEY})]
    if command[0] == "run":
        args += ["--out", str(tmp_path / "run")]
    proc = run_drillctl(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "-old" in proc.stdout and f"+{MASK}" in proc.stdout  # the diff is there, masked
    for line in KEY_LINES:
        assert line not in proc.stdout + proc.stderr, f"a line of the key leaked in {command}"
