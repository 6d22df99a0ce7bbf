"""Bad input on the command line and in the files it names (options, inventories, run
directories, history and Pushgateway URLs): exit 2 with a located message, nothing changed."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.bad_input_bench import CMDLINE, Bench, Outcome, bench, cli, refused

__all__ = ["bench"]  # the fixture, used by name


# -- command-line options that select nothing, or everything by mistake ------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--limit", ""], "--limit '': empty host pattern"),
        (["--limit", "  "], "--limit '  ': empty host pattern"),
        (["--limit", "@"], "--limit '@': empty host pattern"),
        (["--start-at-task", ""], "--start-at-task '': no step"),
        (["--limit", "nohost"], "no host or group named 'nohost'"),
        (["--limit", "h1:&nohost"], "no host or group named 'nohost'"),
        (["--limit", "~["], "unclosed '['"),
        (["--limit", "!"], "'!' needs one host or group name"),
        (["--limit", "&"], "'&' needs one host or group name"),
        (["--tags", "nosuchtag"], "--tags nosuchtag: no step"),
        (["--tags", "deploy,deploi"], "--tags deploy,deploi: no step"),
        (["--skip-tags", "deploi"], "--skip-tags deploi: no step"),
        (["--limit", "h1,nosuch"], "no host or group named 'nosuch'"),
        (["--tags", ""], "no step"),
        (["--start-at-task", "make markr"], "did you mean 'make marker'?"),
        (["-e", "[1, 2]"], "give a mapping of variables"),
        (["-e", "novalue"], "expected NAME=VALUE"),
        (["--forks", "0"], "--forks must be at least 1"),
        (["--forks", "x"], "invalid"),
    ],
)
@pytest.mark.parametrize("command", ["run", "plan"])
def test_an_option_that_selects_nothing_or_everything_is_refused(
    bench: Bench, command: str, options: list[str], words: str
) -> None:
    """`--limit ""` (a variable left unset) read as no limit ran the drill on every host;
    `--start-at-task ""` read as no start ran every step."""
    playbook = bench.playbook(bench.drill())
    argv = [command, str(playbook), "-i", str(bench.inventory), *options]
    outcome = cli(*argv, "--out", str(bench.out)) if command == "run" else cli(*argv)
    refused(outcome, CMDLINE, 1, 1, words)
    bench.assert_untouched()


@pytest.mark.parametrize("limit", ["", " ", "@"])
def test_exec_refuses_an_empty_limit(bench: Bench, limit: str) -> None:
    outcome = cli(
        "exec", "-i", str(bench.inventory), "-l", limit, "all", "--", "touch", str(bench.marker)
    )
    refused(outcome, CMDLINE, 1, 1, "empty host pattern")
    bench.assert_untouched()


def test_exec_with_a_limit_still_runs_on_the_hosts_it_names(bench: Bench) -> None:
    outcome = cli(
        "exec", "-i", str(bench.inventory), "-l", "h1", "all", "--", "touch", str(bench.marker)
    )
    assert outcome.code == 0, outcome.err
    assert bench.marker.exists()


# -- files that are not files ---------------------------------------------------------------


def _fifo(bench: Bench) -> Path:
    path = bench.root / "fifo.yml"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "{fifo}", "-i", "{inventory}", "--out", "{out}"], "not a regular file"),
        (["plan", "{fifo}", "-i", "{inventory}"], "not a regular file"),
        (["lint", "{fifo}"], "not a regular file"),
        (["run", "{playbook}", "-i", "{fifo}", "--out", "{out}"], "not a regular file"),
        (["run", "{playbook}", "-i", "{inventory}", "-e", "@{fifo}"], "not a regular file"),
        (["run", "{playbook}", "-i", "{inventory}", "-l", "@{fifo}"], "not a regular file"),
        (["run", "{root}", "-i", "{inventory}", "--out", "{out}"], "is a directory"),
        (["run", "{playbook}", "-i", "{inventory}", "-e", "@{root}"], "is a directory"),
        (["run", "{playbook}", "-i", "{inventory}", "-l", "@{root}"], "is a directory"),
    ],
)
def test_a_fifo_or_a_directory_given_as_a_file_is_refused_without_waiting(
    bench: Bench, argv: list[str], words: str
) -> None:
    """A FIFO with no writer made `open()` wait forever: the run hung before its first step."""
    fifo = _fifo(bench)
    names = {
        "fifo": str(fifo),
        "inventory": str(bench.inventory),
        "out": str(bench.out),
        "playbook": str(bench.playbook(bench.drill())),
        "root": str(bench.root),
    }
    outcome = _bounded(lambda: cli(*(a.format(**names) for a in argv)))
    named = fifo if "{fifo}" in "".join(argv) else bench.root
    stream = outcome.err + outcome.out  # lint reports on stdout
    assert outcome.code == 2, stream
    assert f"{named}:1:1: " in stream and words in stream, stream
    assert "Traceback" not in stream
    bench.assert_untouched()


def _bounded(call: Callable[[], Outcome], seconds: float = 20.0) -> Outcome:
    """`call()`, failing the test (not hanging it) when it does not return in time."""
    done: list[Outcome] = []
    worker = threading.Thread(target=lambda: done.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert done, f"still waiting after {seconds}s"
    return done[0]


def test_an_at_sign_naming_no_file_is_refused(bench: Bench) -> None:
    playbook = bench.playbook(bench.drill())
    outcome = bench.run(playbook, "-e", "@")
    refused(outcome, CMDLINE, 1, 1, "-e '@': give the file's name after @")
    bench.assert_untouched()


# -- a run directory that cannot be this run's ---------------------------------------------


def test_an_out_that_is_a_file_is_refused_not_a_traceback(bench: Bench) -> None:
    playbook = bench.playbook(bench.drill())
    taken = bench.root / "taken.txt"
    taken.write_text("someone's file\n", encoding="utf-8")
    outcome = cli("run", str(playbook), "-i", str(bench.inventory), "--out", str(taken))
    refused(outcome, taken, 1, 1, "--out: exists and is not a directory")
    assert taken.read_text(encoding="utf-8") == "someone's file\n"
    bench.assert_untouched()


def test_a_non_empty_out_is_refused_before_any_host_is_contacted(bench: Bench) -> None:
    """Refused while preparing, with a host that does not answer: bad input (exit 2), never
    an unreachable target (exit 3)."""
    inventory = bench.root / "ssh.yml"
    inventory.write_text(
        "all:\n  hosts:\n    web1:\n      address: 127.0.0.1\n      port: 1\n",
        encoding="utf-8",
    )
    playbook = bench.playbook(bench.drill())
    (bench.root / "used").mkdir()
    (bench.root / "used" / "result.json").write_text("{}", encoding="utf-8")
    outcome = cli("run", str(playbook), "-i", str(inventory), "--out", str(bench.root / "used"))
    refused(outcome, bench.root / "used", 1, 1, "run directory exists and is not empty")
    assert os.listdir(bench.root / "used") == ["result.json"]
    bench.assert_untouched()


def test_an_empty_out_directory_is_used(bench: Bench) -> None:
    bench.out.mkdir()
    outcome = bench.run(bench.playbook(bench.drill()))
    assert outcome.code == 0, outcome.err + outcome.out
    assert (bench.out / "result.json").is_file()


# -- inventories ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "words"),
    [
        ("[all]\nhost[1:] connection=local\n", 2, 1, "cannot read host 'host[1:]'"),
        ("[all]\nhost[a-1] connection=local\n", 2, 1, "cannot read host 'host[a-1]'"),
        ("[all]\n  web[1:3 connection=local\n", 2, 3, "cannot read host 'web[1:3'"),
        ("[all\nh1 connection=local\n", 1, 1, "a section header is [group]"),
        ("[all]\nhost[10:1] connection=local\n", 2, 1, "runs backwards"),
        ("[all]\nhost[1:5:0] connection=local\n", 2, 1, "needs a step of 1 or more"),
        ("[all]\nhost[1:100000000] connection=local\n", 2, 1, "more than 10000 hosts"),
        ("[all]\nhost[1:9999999999] connection=local\n", 2, 1, "at most 9 digits"),
        ("[all]\nh1 connection\n", 2, 4, "expected key=value"),
        ("[web:vars]\nx=1\n", 1, 2, "names a group that is not defined"),
    ],
)
def test_a_malformed_ini_inventory_is_refused_at_the_entry(
    bench: Bench, text: str, line: int, col: int, words: str
) -> None:
    """`host[1:]` and `[all` (a header missing its `]`) were kept as host names: the drill
    ran on a host called 'host[1:]', or tried SSH to '[all' and ended as unreachable."""
    inventory = bench.root / "hosts.ini"
    inventory.write_text(text, encoding="utf-8")
    playbook = bench.playbook(bench.drill())
    started = time.monotonic()
    outcome = cli("run", str(playbook), "-i", str(inventory), "--out", str(bench.out))
    assert time.monotonic() - started < 10  # a giant range is refused, not listed
    refused(outcome, inventory, line, col, words)
    bench.assert_untouched()


@pytest.mark.parametrize(
    ("entry", "names"),
    [
        ("web[1:3]", ["web1", "web2", "web3"]),
        ("web[01:10:4]", ["web01", "web05", "web09"]),
        ("db-[a:c]", ["db-a", "db-b", "db-c"]),
        ("[::1]:2222", ["::1"]),
        ("::1", ["::1"]),
    ],
)
def test_well_formed_ini_host_entries_still_load(
    bench: Bench, entry: str, names: list[str]
) -> None:
    inventory = bench.root / "hosts.ini"
    inventory.write_text(f"[all]\n{entry} connection=local\n", encoding="utf-8")
    outcome = cli("inventory", "-i", str(inventory), "--list")
    assert outcome.code == 0, outcome.err
    for name in names:
        assert f'"{name}"' in outcome.out


# -- drillctl new -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("directory", "where", "words"),
    [
        ("taken.txt", "taken.txt", "--dir: not a directory"),
        ("taken.txt/sub", "taken.txt/sub/smoke.yml", "cannot write the playbook"),
    ],
)
def test_new_into_a_directory_that_cannot_be_refuses_it(
    bench: Bench, directory: str, where: str, words: str
) -> None:
    """A --dir that is a file crashed with FileExistsError (a traceback)."""
    (bench.root / "taken.txt").write_text("x\n", encoding="utf-8")
    outcome = cli("new", "app-code", "smoke", "--dir", str(bench.root / directory))
    refused(outcome, bench.root / where, 1, 1, words)
    assert (bench.root / "taken.txt").read_text(encoding="utf-8") == "x\n"


def test_new_still_makes_a_missing_directory(bench: Bench) -> None:
    outcome = cli("new", "app-code", "smoke", "--dir", str(bench.root / "a" / "b"))
    assert outcome.code == 0, outcome.err
    assert (bench.root / "a" / "b" / "smoke.yml").is_file()


# -- exec ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "words"),
    [
        ("nan", "expected a duration"),
        ("inf", "expected a duration"),
        ("1e309", "expected a duration"),
        ("-5", "duration must not be negative"),
        ("0", "'0' is no time at all"),
        ("5 m", "expected a duration"),
    ],
)
def test_exec_refuses_a_timeout_that_is_no_deadline(bench: Bench, timeout: str, words: str) -> None:
    """`--timeout nan` or `inf` gave the command no deadline at all, and 0 or -5 ran it too."""
    outcome = cli(
        "exec", "-i", str(bench.inventory), "--timeout", timeout, "all", "--", "touch",
        str(bench.marker),
    )  # fmt: skip
    refused(outcome, CMDLINE, 1, 1, f"argument --timeout: {words}")
    bench.assert_untouched()


@pytest.mark.parametrize("timeout", ["10", "2.5", "30s", "1m"])
def test_exec_takes_seconds_or_a_duration_as_its_timeout(bench: Bench, timeout: str) -> None:
    outcome = cli(
        "exec", "-i", str(bench.inventory), "--timeout", timeout, "all", "--", "touch",
        str(bench.marker),
    )  # fmt: skip
    assert outcome.code == 0, outcome.err
    assert bench.marker.exists()


# -- where a run's record and figures go --------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--history", "ftp://db.example/runs"], "--history 'ftp://db.example/runs': give a"),
        (["--history", "postgresl://db/runs"], "give a SQLite file path or a postgresql://"),
        (["--pushgateway", "not a url"], "--pushgateway: the URL must start with http://"),
        (["--pushgateway", "http://gw:99999"], "--pushgateway: the URL has a port"),
    ],
)
def test_a_run_refuses_a_record_or_push_target_it_cannot_use_before_it_starts(
    bench: Bench, options: list[str], words: str
) -> None:
    """`--history ftp://…` was taken for a SQLite path: the run was recorded in a local file
    'ftp:/db.example/runs'. A bad --pushgateway was found after the run, as a warning."""
    outcome = bench.run(bench.playbook(bench.drill()), *options)
    refused(outcome, CMDLINE, 1, 1, words)
    bench.assert_untouched()
    assert not any(p.name.endswith(":") for p in bench.root.iterdir())


def test_history_commands_refuse_a_url_they_cannot_read(bench: Bench) -> None:
    outcome = cli("history", "list", "--history", "ftp://db.example/runs")
    refused(outcome, CMDLINE, 1, 1, "give a SQLite file path or a postgresql:// URL")
    assert not (bench.root / "ftp:").exists()


def test_history_from_the_environment_is_named_as_such(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILLCTL_HISTORY", "sqlite://runs.db")
    outcome = bench.run(bench.playbook(bench.drill()))
    refused(outcome, CMDLINE, 1, 1, "$DRILLCTL_HISTORY 'sqlite://runs.db'")
    bench.assert_untouched()


def test_a_run_with_a_sqlite_history_records_it(bench: Bench) -> None:
    outcome = bench.run(bench.playbook(bench.drill()), "--history", str(bench.history))
    assert outcome.code == 0, outcome.err
    with contextlib.closing(sqlite3.connect(bench.history)) as db:
        assert db.execute("select count(*) from runs").fetchone()[0] == 1


@pytest.mark.parametrize(
    "entry", ["", "garbage", "2026Q4", "2026Q4/", "2026Q5/a", "2026q4/a", " 2026Q4/a", "2026Q4/a b"]
)
def test_a_plan_entry_that_names_no_entry_is_refused(bench: Bench, entry: str) -> None:
    """It was recorded as given: the run counted for no plan entry and was not listed as a
    drill started by hand either."""
    outcome = bench.run(bench.playbook(bench.drill()), "--plan-entry", entry)
    refused(outcome, CMDLINE, 1, 1, "expected QUARTER/ID, such as 2026Q4/gateway-code")
    bench.assert_untouched()


def test_a_plan_entry_as_drill_run_writes_it_is_taken(bench: Bench) -> None:
    outcome = bench.run(bench.playbook(bench.drill()), "--plan-entry", "2026Q4/gateway-code")
    assert outcome.code == 0, outcome.err
    assert bench.marker.exists()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("{{ lookup('pipe', 'true') }}", "lookup plugin 'pipe' is not available"),
        ("{{ x }}", "cycle"),
        ("{{ 'a' * 10**10 }}", "a template may make"),
        ("{{ nosuch }}", "'nosuch' is undefined"),
    ],
)
def test_an_extra_var_that_cannot_render_is_located_on_the_command_line(
    bench: Bench, value: str, words: str
) -> None:
    """It was located at the playbook's 1:1, a place that has nothing to do with it."""
    playbook = bench.playbook(bench.drill(step="when: x is defined"))
    outcome = bench.run(playbook, "-e", f"x={value}")
    assert outcome.code == 2, outcome.err
    assert "Traceback" not in outcome.err
    mine = [d for d in outcome.located() if d[0] == CMDLINE]
    assert mine and mine[0][1:3] == (1, 1), outcome.err
    assert mine[0][3].startswith("-e x: ") and words in mine[0][3], mine
    assert (str(playbook), 1, 1) not in [d[:3] for d in outcome.located()]
    bench.assert_untouched()


def test_an_inventory_variable_that_cannot_render_names_the_inventory(bench: Bench) -> None:
    """It was located at the playbook's 1:1, a file that does not hold it."""
    inventory = bench.root / "vars-inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    h1:\n      connection: local\n      a: '{{ nosuch }}'\n",
        encoding="utf-8",
    )
    playbook = bench.playbook(bench.drill(step="when: a is defined"))
    outcome = cli("run", str(playbook), "-i", str(inventory), "--out", str(bench.out))
    assert outcome.code == 2, outcome.err
    found = [d for d in outcome.located() if d[0] == str(inventory)]
    assert found and "variable 'a' on host h1" in found[0][3], outcome.err
    assert "(set in the inventory)" in found[0][3]
    assert (str(playbook), 1, 1) not in [d[:3] for d in outcome.located()]
    bench.assert_untouched()
