"""What `drillctl plan` says of each step on each host: what is decided now and what only at
run time (a condition or a loop on a registered result), a host a condition skips, the
attempts and the timeout, and the located error of a step that cannot run on a host.

Written against the survivors of a mutation-testing run (docs/mutation-testing.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main

INVENTORY = (
    "all:\n  hosts:\n    web1: {ansible_connection: local}\n    web2: {ansible_connection: local}\n"
)

NOTES = """\
drill: step notes
rollback_type: 2
vars: {items: [a, b]}
deploy:
  - {name: read, shell: echo hi, register: out}
  - name: retried
    shell: echo "{{ inventory_hostname }}"
    retries: 2
    timeout: 1.5s
    when: [out.rc == 0, "inventory_hostname != 'web9'"]
  - name: looped
    shell: echo {{ item }}
    loop: "{{ out.stdout_lines }}"
  - name: listed
    shell: echo {{ item }}
    loop: "{{ items }}"
  - name: literal
    shell: echo {{ item }}
    loop: [x, y]
  - name: only web2
    shell: echo two
    when: inventory_hostname == 'web2'
  - name: once
    run_once: true
    shell: echo once
"""

ERRORS = """\
drill: step errors
rollback_type: 2
vars: {broken: "{{ nope }}", fine: ok}
deploy:
  - name: sudo
    shell: id
    become: true
  - name: bad arg
    shell: echo {{ missing }}
  - name: bad loop
    shell: echo {{ item }}
    loop: "{{ 5 }}"
  - name: once
    run_once: true
    shell: echo {{ also_missing }}
"""


def plan(tmp_path: Path, text: str, *args: str) -> int:
    (tmp_path / "inv.yml").write_text(INVENTORY)
    (tmp_path / "drill.yml").write_text(text)
    return main(["plan", str(tmp_path / "drill.yml"), "-i", str(tmp_path / "inv.yml"), *args])


def test_each_step_says_what_is_decided_at_run_time_and_what_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan(tmp_path, NOTES) == 0
    out = capsys.readouterr().out
    deploy = out[out.index("\ndeploy:\n") : out.index("\ninject:")]
    at = f"# {tmp_path / 'drill.yml'}"
    assert deploy == (
        "\ndeploy:\n"
        f"  - read (shell)  {at}:5:5\n"
        "      web1: echo hi\n"
        "      web2: echo hi\n"
        f"  - retried (shell)  {at}:6:5\n"
        '      web1: echo "web1"   (when out.rc == 0 (decided at run time); up to 3 attempts;'
        " timeout 1.5s)\n"
        '      web2: echo "web2"   (when out.rc == 0 (decided at run time); up to 3 attempts;'
        " timeout 1.5s)\n"
        f"  - looped (shell)  {at}:11:5\n"
        "      web1: echo <item>   (loop items decided at run time)\n"
        "      web2: echo <item>   (loop items decided at run time)\n"
        f"  - listed (shell)  {at}:14:5\n"
        "      web1: echo a\n"
        "            echo b\n"
        "      web2: echo a\n"
        "            echo b\n"
        f"  - literal (shell)  {at}:17:5\n"
        "      web1: echo x\n"
        "            echo y\n"
        "      web2: echo x\n"
        "            echo y\n"
        f"  - only web2 (shell)  {at}:20:5\n"
        "      web1:    (skipped: when inventory_hostname == 'web2' is false)\n"
        "      web2: echo two\n"
        f"  - once (shell) [run_once]  {at}:23:5\n"
        "      web1: echo once\n"
    )


def test_a_step_that_cannot_run_on_a_host_is_a_located_error_per_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan(tmp_path, ERRORS) == 2
    path = tmp_path / "drill.yml"
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:3:16: variable 'broken' on host web1: undefined variable: 'nope' is undefined",
        f"{path}:3:16: variable 'broken' on host web2: undefined variable: 'nope' is undefined",
        f"{path}:7:13: deploy[0] sudo on web1: become needs an SSH host (this one is local)",
        f"{path}:7:13: deploy[0] sudo on web2: become needs an SSH host (this one is local)",
        f"{path}:9:12: deploy[1] bad arg on web1: undefined variable: 'missing' is undefined",
        f"{path}:9:12: deploy[1] bad arg on web2: undefined variable: 'missing' is undefined",
        f"{path}:11:12: deploy[2] bad loop on web1: 'int' object is not iterable",
        f"{path}:11:12: deploy[2] bad loop on web2: 'int' object is not iterable",
        f"{path}:15:12: deploy[3] once on web1: undefined variable: 'also_missing' is undefined",
        "9 errors",
    ]


HOSTS = """\
drill: host selection
rollback_type: 2
hosts: web2
secrets: [token]
vars: {token: "hunter2"}
probes:
  up:
    prometheus: {url: "http://127.0.0.1:{{ token }}", query: up, expect: {op: "==", value: 1}}
    hosts: web1
deploy:
  - {name: one, shell: echo one}
  - {name: two, shell: echo two}
  - {name: elsewhere, shell: echo three, hosts: "web1:&web2"}
  - {name: typo, shell: echo four, hosts: webb1}
"""


def test_host_patterns_that_select_nothing_are_located_once_and_secrets_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, inv = tmp_path / "drill.yml", tmp_path / "inv.yml"
    port = "has a port that is not a number from 1 to 65535 (a password in it must be URL-encoded"
    probe = f"{path}:8:23: probe up on web1: url 'http://127.0.0.1:********' {port}, '/' included)"
    typo = f"{path}:14:43: no host or group named 'webb1' in {inv} (did you mean 'web1'?)"
    assert plan(tmp_path, HOSTS, "--limit", "web1") == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:3:8: host pattern 'web2' matches no host within --limit 'web1'",
        probe,
        f"{path}:13:49: host pattern 'web1:&web2' matches no host within --limit 'web1'",
        typo,
        "4 errors",
    ]
    assert plan(tmp_path, HOSTS) == 2
    assert capsys.readouterr().err.splitlines() == [
        probe,
        f"{path}:13:49: host pattern 'web1:&web2' matches no host",
        typo,
        "3 errors",
    ]
    assert plan(tmp_path, HOSTS, "--limit", "wbe2") == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"<command line>:1:1: --limit wbe2: no host or group named 'wbe2' in {inv} "
        "(did you mean 'web2'?)"
    )


SSH = """\
drill: become
rollback_type: 2
vars: {fine: ok}
deploy:
  - {name: read, shell: echo hi, register: out}
  - {name: sudo, shell: "echo {{ out.stdout }}", become: true, hosts: db}
"""


def test_become_on_an_ssh_host_plans_and_shows_a_registered_value_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ssh.yml").write_text(
        "all:\n  hosts:\n    web1: {ansible_connection: local}\n"
        "    db: {ansible_host: 127.0.0.1, ansible_user: drill}\n"
    )
    (tmp_path / "drill.yml").write_text(SSH)
    args = ["plan", str(tmp_path / "drill.yml"), "-i", str(tmp_path / "ssh.yml")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out[out.index("\ndeploy:\n") : out.index("\ninject:")] == (
        "\ndeploy:\n"
        f"  - read (shell)  # {tmp_path / 'drill.yml'}:5:5\n"
        "      web1: echo hi\n"
        "      db: echo hi\n"
        f"  - sudo (shell)  # {tmp_path / 'drill.yml'}:6:5\n"
        "      db: echo <out.stdout>\n"
    )


def test_a_host_variable_that_does_not_resolve_is_located_in_the_inventory_not_the_playbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The variable is the inventory's: neither the playbook's `vars:` nor the playbook is
    # where it went wrong.
    (tmp_path / "bad.yml").write_text(
        'all:\n  hosts:\n    web1: {ansible_connection: local, hv: "{{ nope }}"}\n'
    )
    (tmp_path / "drill.yml").write_text(SSH.replace(", become: true, hosts: db", ""))
    assert main(["plan", str(tmp_path / "drill.yml"), "-i", str(tmp_path / "bad.yml")]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{tmp_path / 'bad.yml'}:1:1: variable 'hv' on host web1: undefined variable: "
        "'nope' is undefined (set in the inventory)"
    )


def test_a_step_is_planned_with_its_host_and_item_only_in_a_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ssh.yml").write_text("all:\n  hosts:\n    db: {ansible_host: 192.0.2.7}\n")
    path = tmp_path / "drill.yml"
    path.write_text(
        "drill: host and item\nrollback_type: 2\ndeploy:\n"
        "  - {name: wait, wait_for: {port: 22}}\n"
        '  - {name: stray, shell: "echo {{ item }}"}\n'
    )
    assert main(["plan", str(path), "-i", str(tmp_path / "ssh.yml")]) == 2
    # Outside a loop `item` is not defined: never an `echo None`.
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:5:26: deploy[1] stray on db: undefined variable: 'item' is undefined"
    ]
    path.write_text(path.read_text().replace("  - {name: stray", "  - {name: stray, loop: [a]"))
    assert main(["plan", str(path), "-i", str(tmp_path / "ssh.yml")]) == 0
    out = capsys.readouterr().out
    assert (
        "  - wait (wait_for)" in out and "      db: port 192.0.2.7:22 started within 30s\n" in out
    )
    assert "      db: echo a\n" in out
