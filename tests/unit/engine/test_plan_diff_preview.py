"""`drillctl plan --diff`: the diff each file-changing step would make now, host by host.

A step skipped on a host has no diff there, a `run_once` step one, a loop or a registered
result is decided at run time and says so, an unchanged file says so, the host's own
variables (templates too) make its diff, secrets are masked, a read that hangs ends at the
step's timeout, and nothing on the target changes.

Written against the mutants of a mutation-testing run that no unit test reached
(docs/mutation-testing.md).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from runner.cli import main

INVENTORY = (
    "all:\n  hosts:\n"
    "    web1: {ansible_connection: local, port: 81}\n"
    "    web2: {ansible_connection: local, port: 82}\n"
)

DRILL = """\
drill: plan diffs
rollback_type: 2
secrets: [token]
deploy:
  - name: write config
    config: {dest: "DIR/{{ inventory_hostname }}.conf", content: "port={{ port }}\\ntoken={{ token }}\\nmode=X\\n"}
  - name: only web1
    when: inventory_hostname == 'web1'
    config: {dest: DIR/only.conf, content: "a=1 \\n"}
  - name: once
    run_once: true
    flag.file: {file: DIR/flags.json, name: new_pricing, value: true}
  - name: unchanged
    config: {dest: DIR/same.conf, content: "same\\n"}
  - name: per item
    loop: [1, 2]
    config: {dest: "DIR/item{{ item }}.conf", content: "x\\n"}
  - name: from template
    config: {dest: "DIR/{{ inventory_hostname }}.src.conf", src: DIR/app.conf.j2}
  - name: read
    shell: echo hi
    register: out
  - name: from a result
    config: {dest: DIR/r.conf, content: "{{ out.stdout }}"}
  - name: from a result in a list
    flag.file: {file: DIR/flags.json, name: list, value: ["{{ out.stdout }}"]}
"""  # noqa: E501

SECRET = "hunter2-token"


def _plan(tmp_path: Path, drill: str, *args: str) -> int:
    (tmp_path / "inv.yml").write_text(INVENTORY)
    path = tmp_path / "drill.yml"
    path.write_text(drill.replace("DIR", str(tmp_path)))
    return main(["plan", str(path), "-i", str(tmp_path / "inv.yml"), "--diff", *args])


def _files(tmp_path: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(tmp_path.iterdir()) if p.is_file()}


def test_plan_diff_shows_each_hosts_diff_or_why_there_is_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for host in ("web1", "web2"):
        (tmp_path / f"{host}.conf").write_text("port=80\n")
    (tmp_path / "flags.json").write_text('{"new_pricing": false}\n')
    (tmp_path / "same.conf").write_text("same\n")
    (tmp_path / "app.conf.j2").write_text("port={{ port }}\n")
    before = _files(tmp_path)

    assert _plan(tmp_path, DRILL, "-e", f"token={SECRET}") == 0

    out = capsys.readouterr().out
    assert SECRET not in out
    diffs = out[out.index("\n--diff ") :]
    d = tmp_path
    assert diffs == (
        "\n--diff deploy: write config on web1\n"
        f"--- before: {d}/web1.conf\n+++ after: {d}/web1.conf\n@@ -1 +1,3 @@\n"
        "-port=80\n+port=81\n+token=********\n+mode=X\n"
        "\n--diff deploy: write config on web2\n"
        f"--- before: {d}/web2.conf\n+++ after: {d}/web2.conf\n@@ -1 +1,3 @@\n"
        "-port=80\n+port=82\n+token=********\n+mode=X\n"
        "\n--diff deploy: only web1 on web1\n"
        f"--- before: /dev/null\n+++ after: {d}/only.conf\n@@ -0,0 +1 @@\n+a=1 \n"
        "\n--diff deploy: once on web1\n"
        f"--- before: {d}/flags.json\n+++ after: {d}/flags.json\n@@ -1 +1 @@\n"
        '-{"new_pricing": false}\n+{"new_pricing": true}\n'
        "\n--diff deploy: unchanged on web1\n(no change)\n"
        "\n--diff deploy: unchanged on web2\n(no change)\n"
        "\n--diff deploy: per item on web1\n(diff per loop item, at run time)\n"
        "\n--diff deploy: per item on web2\n(diff per loop item, at run time)\n"
        "\n--diff deploy: from template on web1\n"
        f"--- before: /dev/null\n+++ after: {d}/web1.src.conf\n@@ -0,0 +1 @@\n+port=81\n"
        "\n--diff deploy: from template on web2\n"
        f"--- before: /dev/null\n+++ after: {d}/web2.src.conf\n@@ -0,0 +1 @@\n+port=82\n"
        "\n--diff deploy: from a result on web1\n"
        "(uses a registered result: diff decided at run time)\n"
        "\n--diff deploy: from a result on web2\n"
        "(uses a registered result: diff decided at run time)\n"
        "\n--diff deploy: from a result in a list on web1\n"
        "(uses a registered result: diff decided at run time)\n"
        "\n--diff deploy: from a result in a list on web2\n"
        "(uses a registered result: diff decided at run time)\n"
    )
    after = _files(tmp_path)
    assert {name: after[name] for name in before} == before  # a preview changes nothing


def test_a_plan_without_file_steps_prints_no_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drill = "drill: no files\nrollback_type: 2\ndeploy:\n  - {name: change, shell: 'true'}\n"
    assert _plan(tmp_path, drill) == 0
    out = capsys.readouterr().out
    assert "cleanup: (no steps)\n" in out and "--diff" not in out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_a_read_that_hangs_ends_at_the_steps_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Reading a pipe nobody writes blocks for ever: only the deadline ends it.
    os.mkfifo(tmp_path / "pipe.conf")
    drill = (
        "drill: stuck\nrollback_type: 2\ndeploy:\n"
        "  - name: stuck\n    timeout: 0.2s\n"
        '    config: {dest: DIR/pipe.conf, content: "a=1\\n"}\n'
    )
    started = time.monotonic()
    assert _plan(tmp_path, drill, "--limit", "web1") == 0
    assert time.monotonic() - started < 20  # below the 30 s a read may take by default
    out = capsys.readouterr().out
    diff = out[out.index("\n--diff ") :]
    assert diff.startswith(
        f"\n--diff deploy: stuck on web1\n(no diff: cannot read {tmp_path}/pipe.conf: "
    )
    assert diff.count("\n--diff ") == 1
