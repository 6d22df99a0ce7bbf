"""Ansible's command-line habits, end to end through `python -m runner`: several `-i`,
`--limit @FILE`, `--list-hosts/-tasks/-tags`, `--syntax-check`, `-f`, `-u`,
`--private-key`, `--start-at-task` and `-e` with JSON values. (`-b`/`--become-user`
run against a real sudo user: tests/integration/ssh/test_become.py.)"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from runner.engine.safety import InventoryLock
from tests.conftest import REPO, child_env, drillctl_argv, run_drillctl

pytestmark = pytest.mark.integration

DRILL = """\
drill: habits
rollback_type: 2
hosts: all
prepare:
  - name: baseline
    shell: "echo {{ color }} > DIR/{{ inventory_hostname }}.prepared"
    tags: [base]
deploy:
  - {name: ship, shell: "touch DIR/{{ inventory_hostname }}.deployed", tags: [release]}
  - {name: second, shell: "touch DIR/{{ inventory_hostname }}.second"}
rollback:
  - {name: undo, shell: "touch DIR/{{ inventory_hostname }}.rolled-back"}
verify:
  - {name: check, shell: "touch DIR/{{ inventory_hostname }}.verified"}
cleanup:
  - {name: tidy, shell: "touch DIR/{{ inventory_hostname }}.cleaned"}
"""

INV_A = """\
all:
  vars: {environment: ENV_A, color: red}
  children:
    web:
      hosts:
        w1: {connection: local}
        w2: {connection: local}
"""

INV_B = """\
[db]
d1 connection=local

[all:vars]
environment=ENV_B
color=blue
"""


@pytest.fixture
def estate(tmp_path: Path) -> dict[str, Path]:
    """Two inventory sources (YAML, INI), a drill, and a directory the drill writes into."""
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = tmp_path / "a" / "a.yml", tmp_path / "b" / "b.ini"
    a.write_text(INV_A.replace("ENV_A", "test-a"))
    b.write_text(INV_B.replace("ENV_B", "test-b"))
    drill = tmp_path / "drill.yml"
    drill.write_text(DRILL.replace("DIR", str(marks)))
    return {"a": a, "b": b, "drill": drill, "marks": marks, "out": tmp_path / "run"}


def marks(estate: dict[str, Path]) -> set[str]:
    return {p.name for p in estate["marks"].iterdir()}


def output(proc: Any) -> str:
    return str(proc.stdout + proc.stderr)


def journal(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]


def test_several_inventories_merge_in_order_for_every_command(estate: dict[str, Path]) -> None:
    a, b = str(estate["a"]), str(estate["b"])
    listed = run_drillctl("inventory", "-i", a, "-i", b, "--list")
    assert listed.returncode == 0, output(listed)
    assert set(json.loads(listed.stdout)["_meta"]["hostvars"]) == {"w1", "w2", "d1"}
    # A later source's variables win: blue after b, red when a comes last.
    later_b = run_drillctl("inventory", "-i", a, "-i", b, "--host", "w1")
    later_a = run_drillctl("inventory", "-i", b, "-i", a, "--host", "w1")
    assert json.loads(later_b.stdout)["color"] == "blue"
    assert json.loads(later_a.stdout)["color"] == "red"

    ran = run_drillctl("run", str(estate["drill"]), "-i", a, "-i", b, "--out", str(estate["out"]))
    assert ran.returncode == 0, output(ran)
    assert (estate["marks"] / "d1.prepared").read_text().strip() == "blue"
    assert {"w1.deployed", "w2.deployed", "d1.deployed"} <= marks(estate)
    started = journal(estate["out"])[0]
    assert started["inventory_paths"] == [str(Path(a).resolve()), str(Path(b).resolve())]

    planned = run_drillctl("plan", str(estate["drill"]), "-i", a, "-i", b, "--limit", "db")
    assert planned.returncode == 0, output(planned)
    assert "hosts: d1\n" in planned.stdout

    db_drill = estate["drill"].with_name("db.yml")
    db_drill.write_text(DRILL.replace("hosts: all", "hosts: db"))
    assert run_drillctl("lint", str(db_drill), "-i", a, "-i", b).returncode == 0
    only_a = run_drillctl("lint", str(db_drill), "-i", a)
    assert only_a.returncode == 2 and "db" in output(only_a)

    adhoc = run_drillctl("exec", "all", "-i", a, "-i", b, "--", "echo", "hi")
    assert adhoc.returncode == 0, output(adhoc)
    assert all(name in adhoc.stdout for name in ("w1", "w2", "d1"))


def test_a_drill_holding_any_one_source_locks_out_a_run_on_several(
    estate: dict[str, Path],
) -> None:
    held = InventoryLock(str(estate["b"].resolve()), "other-run", "someone")
    held.acquire()
    try:
        proc = run_drillctl(
            "run",
            str(estate["drill"]),
            "-i",
            str(estate["a"]),
            "-i",
            str(estate["b"]),
            "--out",
            str(estate["out"]),
        )
    finally:
        held.release()
    assert proc.returncode == 3, output(proc)
    assert f"lock on {estate['b'].resolve()}" in output(proc)
    assert "other-run" in output(proc)
    assert marks(estate) == set()
    # Freed: the same run goes ahead.
    again = run_drillctl(
        "run",
        str(estate["drill"]),
        "-i",
        str(estate["a"]),
        "-i",
        str(estate["b"]),
        "--out",
        str(estate["out"]),
    )
    assert again.returncode == 0, output(again)


def test_production_in_any_one_source_guards_the_whole_run(estate: dict[str, Path]) -> None:
    # b, merged last, says staging: the merge alone would not see production.
    estate["a"].write_text(INV_A.replace("ENV_A", "production"))
    estate["b"].write_text(INV_B.replace("ENV_B", "staging"))
    args = ("run", str(estate["drill"]), "-i", str(estate["a"]), "-i", str(estate["b"]))
    refused = run_drillctl(*args, "--out", str(estate["out"]))
    assert refused.returncode == 2, output(refused)
    assert "environment: production" in output(refused)
    assert "--allow-production" in output(refused)
    assert marks(estate) == set() and not estate["out"].exists()
    allowed = run_drillctl(
        *args, "--allow-production", "--change-id", "CHG-1", "--out", str(estate["out"])
    )
    assert allowed.returncode == 0, output(allowed)


def test_limit_from_a_retry_file_on_run_plan_and_exec(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    retry = tmp_path / "drill.retry"
    retry.write_text("# hosts that failed last time\n\nw2\n  d1  \n")
    inv = ("-i", str(estate["a"]), "-i", str(estate["b"]))
    ran = run_drillctl(
        "run", str(estate["drill"]), *inv, "--limit", f"@{retry}", "--out", str(estate["out"])
    )
    assert ran.returncode == 0, output(ran)
    deployed = {m for m in marks(estate) if m.endswith(".deployed")}
    assert deployed == {"w2.deployed", "d1.deployed"}
    planned = run_drillctl("plan", str(estate["drill"]), *inv, "--limit", f"@{retry}")
    assert "hosts: w2, d1\n" in planned.stdout, output(planned)
    adhoc = run_drillctl("exec", "all", *inv, "--limit", f"@{retry}", "--", "true")
    assert adhoc.returncode == 0 and "w1" not in adhoc.stdout and "d1" in adhoc.stdout


def test_a_missing_retry_file_is_bad_input_located(estate: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "gone.retry"
    for args in (
        ("run", str(estate["drill"]), "--out", str(estate["out"])),
        ("plan", str(estate["drill"])),
        ("exec", "all"),
    ):
        tail = ("--", "true") if args[0] == "exec" else ()
        proc = run_drillctl(*args, "-i", str(estate["a"]), "--limit", f"@{missing}", *tail)
        assert proc.returncode == 2, output(proc)
        assert f"{missing}:1:1: --limit @FILE: file not found" in output(proc)
        assert "Traceback" not in output(proc)
    assert marks(estate) == set()


def test_a_limit_naming_nothing_is_the_command_line_s_mistake_said_once(
    estate: dict[str, Path],
) -> None:
    for args in (
        ("run", str(estate["drill"]), "--out", str(estate["out"])),
        ("plan", str(estate["drill"])),
    ):
        proc = run_drillctl(*args, "-i", str(estate["a"]), "--limit", "nosuchhost")
        assert proc.returncode == 2, output(proc)
        lines = output(proc).strip().splitlines()
        assert lines == [
            f"<command line>:1:1: --limit nosuchhost: no host or group named 'nosuchhost' "
            f"in {estate['a']}"
        ], lines
        # A glob is a real pattern that may match nothing: the playbook's pattern then
        # selects no host, said once for all the steps that share it.
        proc = run_drillctl(*args, "-i", str(estate["a"]), "--limit", "nosuch*")
        assert proc.returncode == 2, output(proc)
        found = [line for line in output(proc).splitlines() if "matches no host" in line]
        assert len(found) == len(set(found)) >= 1, output(proc)
    assert marks(estate) == set()


def test_list_hosts_tasks_and_tags_print_and_touch_nothing(estate: dict[str, Path]) -> None:
    base = ("run", str(estate["drill"]), "-i", str(estate["a"]), "-i", str(estate["b"]))
    hosts = run_drillctl(*base, "--list-hosts", "--limit", "web")
    assert hosts.returncode == 0, output(hosts)
    assert "hosts (2):\n      w1\n      w2\n" in hosts.stdout
    assert "d1" not in hosts.stdout
    tasks = run_drillctl(*base, "--list-tasks", "--tags", "release")
    assert tasks.returncode == 0, output(tasks)
    assert "ship\tTAGS: [release]" in tasks.stdout
    assert "second" not in tasks.stdout and "baseline" not in tasks.stdout
    assert "undo\tTAGS: []" in tasks.stdout  # the proof always runs
    tags = run_drillctl(*base, "--list-tags")
    assert tags.returncode == 0, output(tags)
    assert "TASK TAGS: [base, release]" in tags.stdout
    assert marks(estate) == set() and not estate["out"].exists()
    assert not Path("drills/runs").exists() or all(
        "habits" not in p.name for p in Path("drills/runs").iterdir()
    )


def test_syntax_check_passes_good_input_and_locates_bad(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    good = run_drillctl("run", str(estate["drill"]), "-i", str(estate["a"]), "--syntax-check")
    assert good.returncode == 0, output(good)
    assert "syntax OK" in good.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(DRILL.replace("hosts: all", "hosts: al"))
    proc = run_drillctl("run", str(bad), "-i", str(estate["a"]), "--syntax-check")
    assert proc.returncode == 2, output(proc)
    assert f"{bad}:3:8: no host or group named 'al'" in output(proc)
    schema = tmp_path / "schema.yml"
    schema.write_text(DRILL.replace("rollback_type: 2", "rollback_type: 9"))
    proc = run_drillctl("run", str(schema), "-i", str(estate["a"]), "--syntax-check")
    assert proc.returncode == 2 and f"{schema}:2:" in output(proc), output(proc)
    assert marks(estate) == set()


FORKS_DRILL = """\
drill: forks
rollback_type: 2
hosts: web
forks: 1
deploy:
  - name: overlap
    shell: >-
      date +%s.%N > DIR/{{ inventory_hostname }}.start; sleep 0.6;
      date +%s.%N > DIR/{{ inventory_hostname }}.end
rollback:
  - {name: undo, shell: "true"}
verify:
  - {name: the change ran to its end, shell: "test -e DIR/{{ inventory_hostname }}.end"}
"""


def _overlap(folder: Path) -> bool:
    spans = [
        (float((folder / f"{h}.start").read_text()), float((folder / f"{h}.end").read_text()))
        for h in ("w1", "w2")
    ]
    (s1, e1), (s2, e2) = spans
    return s1 < e2 and s2 < e1


def test_forks_overrides_the_playbooks_forks(estate: dict[str, Path], tmp_path: Path) -> None:
    for forks, overlapping in ((None, False), ("2", True)):
        folder = tmp_path / f"forks-{forks}"
        folder.mkdir()
        drill = tmp_path / f"forks-{forks}.yml"
        drill.write_text(FORKS_DRILL.replace("DIR", str(folder)))
        flags = ("-f", forks) if forks else ()
        proc = run_drillctl(
            "run", str(drill), "-i", str(estate["a"]), "--out", str(folder / "run"), *flags
        )
        assert proc.returncode == 0, output(proc)
        assert _overlap(folder) is overlapping, forks
    bad = run_drillctl("run", str(estate["drill"]), "-i", str(estate["a"]), "-f", "0")
    assert bad.returncode == 2 and "--forks must be at least 1" in output(bad)


SSH_INV = """\
all:
  vars: {connection: ssh, port: 2222}
  hosts:
    s1: {address: 127.0.0.9}
    s2: {address: 127.0.0.9, ansible_user: bob, ansible_ssh_private_key_file: /keys/bob}
"""

WHO_DRILL = """\
drill: who
rollback_type: 2
hosts: all
deploy:
  - command: "echo {{ host.user }} {{ ssh_key_file | default(ansible_ssh_private_key_file) }}"
"""


def test_user_and_private_key_are_defaults_host_vars_override(tmp_path: Path) -> None:
    inv = tmp_path / "ssh.yml"
    inv.write_text(SSH_INV)
    drill = tmp_path / "who.yml"
    drill.write_text(WHO_DRILL)
    proc = run_drillctl(
        "plan", str(drill), "-i", str(inv), "-u", "alice", "--private-key", "/keys/alice"
    )
    assert proc.returncode == 0, output(proc)
    assert "s1: echo alice /keys/alice" in proc.stdout
    assert "s2: echo bob /keys/bob" in proc.stdout


def test_start_at_task_skips_the_change_before_it_and_still_proves_the_rollback(
    estate: dict[str, Path],
) -> None:
    proc = run_drillctl(
        "run",
        str(estate["drill"]),
        "-i",
        str(estate["a"]),
        "--start-at-task",
        "second",
        "--out",
        str(estate["out"]),
    )
    assert proc.returncode == 0, output(proc)
    got = marks(estate)
    assert not any(m.endswith((".prepared", ".deployed")) for m in got)
    assert {"w1.second", "w1.rolled-back", "w1.verified", "w1.cleaned"} <= got
    skipped = [e for e in journal(estate["out"]) if e["event"] == "steps_skipped"]
    assert [(e["steps"], e["reason"]) for e in skipped] == [
        (["prepare[0] baseline", "deploy[0] ship"], "--start-at-task second")
    ]
    listed = run_drillctl(
        "run",
        str(estate["drill"]),
        "-i",
        str(estate["a"]),
        "--start-at-task",
        "second",
        "--list-tasks",
    )
    assert listed.returncode == 0, output(listed)
    assert "skipped by --start-at-task:\n      prepare[0] baseline\n      deploy[0] ship" in (
        listed.stdout
    )
    assert "second\tTAGS: []" in listed.stdout and "ship\tTAGS" not in listed.stdout


def test_start_at_an_unknown_task_is_bad_input_naming_close_matches(
    estate: dict[str, Path],
) -> None:
    proc = run_drillctl(
        "run", str(estate["drill"]), "-i", str(estate["a"]), "--start-at-task", "secnd"
    )
    assert proc.returncode == 2, output(proc)
    assert "<command line>:1:1: --start-at-task 'secnd'" in output(proc)
    assert "did you mean 'second'" in output(proc)
    # Rollback steps cannot be started at: a drill must prove its rollback.
    proc = run_drillctl(
        "plan", str(estate["drill"]), "-i", str(estate["a"]), "--start-at-task", "undo"
    )
    assert proc.returncode == 2, output(proc)
    assert marks(estate) == set()


EXTRA_DRILL = """\
drill: extra
rollback_type: 2
deploy:
  - shell: "echo {{ ports | sum }} > DIR/sum"
  - shell: "touch DIR/enabled"
    when: enabled
rollback:
  - {name: undo, shell: "true"}
verify:
  - {name: the sum was written, shell: "test -s DIR/sum"}
"""


def test_extra_vars_take_json_and_vars_files(tmp_path: Path) -> None:
    drill = tmp_path / "extra.yml"
    drill.write_text(EXTRA_DRILL.replace("DIR", str(tmp_path)))
    (tmp_path / "vars.json").write_text('{"ports": [8080, 9090]}')
    (tmp_path / "vars.yml").write_text("enabled: no\n")  # YAML 1.1, as Ansible: false
    runs = (
        (("-e", '{"ports": [80, 443], "enabled": true}'), "523", True),
        (("-e", f"@{tmp_path / 'vars.json'}", "-e", f"@{tmp_path / 'vars.yml'}"), "17170", False),
    )
    for index, (flags, total, enabled) in enumerate(runs):
        (tmp_path / "enabled").unlink(missing_ok=True)
        proc = run_drillctl("run", str(drill), *flags, "--out", str(tmp_path / f"run{index}"))
        assert proc.returncode == 0, output(proc)
        assert (tmp_path / "sum").read_text().strip() == total
        assert (tmp_path / "enabled").exists() is enabled
    bad = run_drillctl("run", str(drill), "-e", '{"ports": [80,')
    assert bad.returncode == 2 and "<command line>:1:" in output(bad), output(bad)
    listed = run_drillctl("run", str(drill), "-e", "[1, 2]")
    assert listed.returncode == 2 and "give a mapping of variables" in output(listed)


DIFF_DRILL = """\
drill: diffs
rollback_type: 2
rollback: auto
secrets: [token]
deploy:
  - name: write config
    config: {dest: DIR/app.conf, content: "port=81\\ntoken={{ token }}\\n"}
  - name: flip flag
    flag.file: {file: DIR/flags.json, name: new_pricing, value: true}
  - name: switch release
    release: {path: DIR/app, version: "2"}
verify:
  - name: the old config, flag and release are back
    shell: >-
      grep -qx port=80 DIR/app.conf
      && grep -q '"new_pricing": false' DIR/flags.json
      && test "$(readlink DIR/app/current)" = DIR/app/releases/1
"""

SECRET = "s3cr3t-t0ken-value"


def _diff_estate(tmp_path: Path) -> Path:
    (tmp_path / "app.conf").write_text("port=80\ntoken=old\n")
    (tmp_path / "flags.json").write_text('{"new_pricing": false}\n')
    for version in ("1", "2"):
        (tmp_path / "app" / "releases" / version).mkdir(parents=True)
    (tmp_path / "app" / "current").symlink_to(tmp_path / "app" / "releases" / "1")
    drill = tmp_path / "diff.yml"
    drill.write_text(DIFF_DRILL.replace("DIR", str(tmp_path)))
    return drill


def _expected_diff_lines(tmp_path: Path) -> list[str]:
    link = tmp_path / "app" / "current"
    return [
        f"--- before: {tmp_path / 'app.conf'}",
        "-port=80",
        "+port=81",
        "+token=********",
        '-{"new_pricing": false}',
        '+{"new_pricing": true}',
        f"-{link} -> {tmp_path / 'app' / 'releases' / '1'}",
        f"+{link} -> {tmp_path / 'app' / 'releases' / '2'}",
    ]


def test_diff_shows_what_file_steps_change_with_secrets_masked(tmp_path: Path) -> None:
    drill = _diff_estate(tmp_path)
    args = ("run", str(drill), "-e", f"token={SECRET}")
    proc = run_drillctl(*args, "--diff", "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, output(proc)
    lines = [line.strip() for line in proc.stdout.splitlines()]
    for expected in _expected_diff_lines(tmp_path):
        assert expected in lines, (expected, proc.stdout)
    assert SECRET not in output(proc)
    # rollback: auto changes them back, and says so the other way round.
    assert lines.index("-port=81") > lines.index("+port=81")
    plain = run_drillctl(*args, "--out", str(tmp_path / "run2"))
    assert plain.returncode == 0, output(plain)
    assert "+port=81" not in plain.stdout and "--diff" not in plain.stdout


@pytest.mark.parametrize("command", [("plan",), ("run", "--check")])
def test_plan_diff_shows_the_diff_it_would_make_and_changes_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    drill = _diff_estate(tmp_path)
    proc = run_drillctl(*command, str(drill), "-e", f"token={SECRET}", "--diff")
    assert proc.returncode == 0, output(proc)
    lines = [line.strip() for line in proc.stdout.splitlines()]
    for expected in _expected_diff_lines(tmp_path):
        assert expected in lines, (expected, proc.stdout)
    assert SECRET not in output(proc)
    assert (tmp_path / "app.conf").read_text() == "port=80\ntoken=old\n"
    assert (tmp_path / "flags.json").read_text() == '{"new_pricing": false}\n'
    assert (tmp_path / "app" / "current").resolve().name == "1"
    without = run_drillctl(*command, str(drill), "-e", f"token={SECRET}")
    assert "+port=81" not in without.stdout


def test_halt_all_signals_a_drill_on_several_inventories_once(
    estate: dict[str, Path], tmp_path: Path
) -> None:
    # The drill holds one lock per source; a second SIGTERM would abort its rollback.
    env = child_env(DRILLCTL_LOCK_DIR=str(tmp_path / "locks"))
    slow = estate["drill"].with_name("slow.yml")
    slow.write_text(
        DRILL.replace(
            'touch DIR/{{ inventory_hostname }}.second"',
            'touch DIR/{{ inventory_hostname }}.second; sleep 30"',
        ).replace("DIR", str(estate["marks"]))
    )
    inv = ("-i", str(estate["a"]), "-i", str(estate["b"]))
    proc = subprocess.Popen(
        drillctl_argv("run", str(slow), *inv, "--out", str(estate["out"])),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (estate["marks"] / "d1.second").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        assert len(list((tmp_path / "locks").glob("*.lock"))) == 2
        halted = subprocess.run(
            drillctl_argv("halt", "--all"),
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert halted.returncode == 0, halted.stdout + halted.stderr
        assert halted.stdout.count("SIGTERM sent") == 1
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stdout + stderr
    received = [e for e in journal(estate["out"]) if e["event"] == "interrupt_received"]
    assert len(received) == 1
    assert {"w1.rolled-back", "d1.rolled-back", "d1.cleaned"} <= marks(estate)


def test_a_step_that_becomes_on_a_local_host_is_bad_input(estate: dict[str, Path]) -> None:
    drill = estate["drill"].with_name("become.yml")
    drill.write_text(DRILL.replace("tags: [release]}", "tags: [release], become: true}"))
    proc = run_drillctl("run", str(drill), "-i", str(estate["a"]), "--out", str(estate["out"]))
    assert proc.returncode == 2, output(proc)
    assert "deploy[0] ship on w1: become needs an SSH host (this one is local)" in output(proc)
    assert marks(estate) == set()


def test_run_and_plan_help_show_the_habits_by_example() -> None:
    run_help = run_drillctl("run", "--help")
    assert run_help.returncode == 0
    for flag in (
        "--limit @drill.retry",
        "-b -f 20",
        "-e @vars.yml",
        "--start-at-task",
        "--list-hosts",
    ):
        assert flag in run_help.stdout, flag
    plan_help = run_drillctl("plan", "--help")
    assert "drillctl plan drill.yml -i hosts.ini --diff" in plan_help.stdout
