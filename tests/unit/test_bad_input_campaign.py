"""A hostile campaign against the rule for bad input: every malformed playbook, inventory or
option is `path:line:col: message` on stderr, exit 2, no traceback, and changes nothing:
no step runs on a target (the drill's deploy step would create a marker file), no run
directory, no history row, and no lock or last-run record left saying a run happened."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.cli import main

LOCATED = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$", re.M)


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    def located(self) -> list[tuple[str, int, int, str]]:
        return [
            (m["path"], int(m["line"]), int(m["col"]), m["message"])
            for m in LOCATED.finditer(self.err)
        ]


def cli(*argv: str) -> Outcome:
    """`drillctl ARGV` in this process, its exit code (usage errors included) and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    return Outcome(code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class Bench:
    """A local inventory, a drill whose deploy step creates MARKER, and where a run would
    leave its traces."""

    root: Path
    inventory: Path
    marker: Path
    out: Path
    history: Path
    locks: Path

    def playbook(self, text: str, name: str = "drill.yml") -> Path:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return path

    def drill(self, *, head: str = "", step: str = "", tail: str = "") -> str:
        """A valid drill; `head` adds top-level keys, `step` keys to the marker step, `tail`
        whole top-level sections."""
        step_lines = "".join(f"    {line}\n" for line in step.splitlines())
        return (
            f"drill: smoke\nrollback_type: 2\nhosts: all\n{head}"
            f"deploy:\n  - name: make marker\n    command: touch {self.marker}\n"
            f"    tags: [deploy]\n{step_lines}"
            "rollback:\n  - name: undo\n    command: 'true'\n"
            "verify:\n  - name: check\n    command: 'true'\n"
            f"{tail}"
        )

    def run(self, playbook: Path, *options: str) -> Outcome:
        out = ("--out", str(self.out))
        return cli("run", str(playbook), "-i", str(self.inventory), *out, *options)

    def assert_untouched(self) -> None:
        assert not self.marker.exists(), "a step ran on the target"
        assert not self.out.exists(), "a run directory was left behind"
        if self.history.exists():
            with contextlib.closing(sqlite3.connect(self.history)) as db:
                tables = [r[0] for r in db.execute("select name from sqlite_master")]
                for table in tables:
                    assert not db.execute(f"select count(*) from {table}").fetchone()[0]
        for path in self.locks.rglob("*"):
            assert not path.is_file() or not path.read_bytes().strip(), f"{path} records a run"


@pytest.fixture
def bench(tmp_path: Path, own_lock_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    h1:\n      connection: local\n      address: 127.0.0.1\n",
        encoding="utf-8",
    )
    history = tmp_path / "history.db"
    monkeypatch.setenv("DRILLCTL_HISTORY", str(history))
    monkeypatch.chdir(tmp_path)  # a default run directory would land here
    return Bench(tmp_path, inventory, tmp_path / "MARKER", tmp_path / "run", history, own_lock_dir)


def refused(outcome: Outcome, path: str | Path, line: int, col: int, words: str) -> None:
    """Exit 2, no traceback, and the first located message at path:line:col says `words`."""
    assert "Traceback" not in outcome.err + outcome.out
    assert outcome.code == 2, outcome.err + outcome.out
    found = outcome.located()
    assert found, f"no path:line:col: message in {outcome.err!r}"
    assert (found[0][0], found[0][1], found[0][2]) == (str(path), line, col), found
    assert words in found[0][3], found


def test_the_bench_drill_runs_and_creates_its_marker(bench: Bench) -> None:
    """The other side of every refusal below: the same drill, well-formed, does run."""
    outcome = bench.run(bench.playbook(bench.drill()))
    assert outcome.code == 0, outcome.err + outcome.out
    assert bench.marker.exists()
    assert bench.out.is_dir()


# -- durations the schema's pattern accepts but that are no duration ---------------------

HUGE = "99999999999999999999999d"


@pytest.mark.parametrize(
    ("where", "head", "step", "tail", "line", "col"),
    [
        ("objectives.rto", f"objectives: {{rto: {HUGE}}}\n", "", "", 4, 19),
        ("objectives.rpo", f"objectives: {{rto: 1m, rpo: {HUGE}}}\n", "", "", 4, 28),
        ("decision.timeout", f"decision: {{manual: true, timeout: {HUGE}}}\n", "", "", 4, 35),
        ("deploy.0.timeout", "", f"timeout: {HUGE}", "", 8, 14),
        ("deploy.0.delay", "", f"retries: 1\ndelay: {HUGE}", "", 9, 12),
        (
            "probes.p.every",
            "",
            "",
            f"probes:\n  p:\n    command: 'true'\n    every: {HUGE}\n",
            17,
            12,
        ),
    ],
)
def test_a_duration_too_large_is_refused_where_it_is_written_not_dropped(
    bench: Bench, where: str, head: str, step: str, tail: str, line: int, col: int
) -> None:
    """It matched the schema's pattern, and the loader dropped what it could not parse: a
    drill with `rto: 99999999999999999999999d` ran with no RTO objective and PASSED."""
    playbook = bench.playbook(bench.drill(head=head, step=step, tail=tail))
    refused(bench.run(playbook), playbook, line, col, f"{where}: duration is too large")
    bench.assert_untouched()
    lint = cli("lint", str(playbook), "-i", str(bench.inventory))
    assert lint.code == 2
    assert f"{playbook}:{line}:{col}: {where}: duration is too large" in lint.out


@pytest.mark.parametrize("value", ["1000000000000000s", "11574074074d"])
def test_a_large_duration_within_bounds_still_loads(bench: Bench, value: str) -> None:
    playbook = bench.playbook(bench.drill(step=f"timeout: {value}"))
    lint = cli("lint", str(playbook), "-i", str(bench.inventory))
    assert lint.code == 0, lint.out + lint.err


# -- command-line options that select nothing, or everything by mistake ------------------

CMDLINE = "<command line>"


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


# -- templates, wherever a template is allowed ------------------------------------------------


@pytest.mark.parametrize(
    ("head", "step", "tail", "line", "col", "words"),
    [
        ("", "when: nosuch == 1", "", 6, 14, "'nosuch' is undefined"),
        ("", "when: 'x =='", "", 8, 11, "template syntax error"),
        ("", "loop: '{{ nosuch }}'", "", 6, 14, "'nosuch' is undefined"),
        ("", "register: r\nuntil: 'r.rc =='\nretries: 1", "", 9, 12, "template syntax error"),
        ("vars:\n  a: '{{ nosuch '\n", "", "", 5, 6, "template syntax error"),
        ("vars:\n  a: '{{ nosuch }}'\n", "", "", 5, 6, "'nosuch' is undefined"),
        ("", "", "probes:\n  p:\n    http: {url: 'http://{{ nosuch }}/'}\n", 16, 11, "nosuch"),
        ("", "when: 1 is nosuchtest", "", 8, 11, "No test named 'nosuchtest'"),
        (
            "",
            "",
            "cleanup:\n  - assert: {that: nosuch == 1}\n",
            15,
            20,
            "undefined variable: 'nosuch' is undefined",
        ),
        (
            "",
            "",
            "cleanup:\n  - assert: {that: [out is defined, runing.rc == 0]}\n",
            15,
            37,
            "undefined variable: 'runing' is undefined",
        ),
        ("", "", "cleanup:\n  - assert: nosuch\n", 15, 13, "'nosuch' is undefined"),
    ],
)
def test_a_template_error_anywhere_is_refused_before_any_step_runs(
    bench: Bench, head: str, step: str, tail: str, line: int, col: int, words: str
) -> None:
    """An assert's `that` naming an undefined variable (a typo of a registered result) was
    not checked by the plan: the drill ran its change and rollback, then failed verify."""
    playbook = bench.playbook(bench.drill(head=head, step=step, tail=tail))
    for command in ("run", "plan"):
        outcome = bench.run(playbook) if command == "run" else cli("plan", str(playbook))
        refused(outcome, playbook, line, col, words)
    bench.assert_untouched()


@pytest.mark.parametrize(
    "that",
    [
        "[out.rc == 0, \"'x' in out.stdout\"]",
        "[item > 0]",
        "[nosuch is not defined, (nosuch | default(1)) == 1, inventory_hostname == 'h1']",
    ],
)
def test_an_assert_on_defined_names_still_runs(bench: Bench, that: str) -> None:
    loop = "    loop: [1, 2]\n" if "item" in that else ""
    tail = f"cleanup:\n  - command: echo x\n    register: out\n  - assert: {{that: {that}}}\n{loop}"
    outcome = bench.run(bench.playbook(bench.drill(tail=tail)))
    assert outcome.code == 0, outcome.err + outcome.out
    assert bench.marker.exists()


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


# -- YAML that cannot be read -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tail", "line", "col", "words"),
    [
        ("description: [one, two\nforks: 2\n", 14, 14, "this '[' is never closed"),
        ("description: {a: 1\n", 14, 14, "this '{' is never closed"),
        ('description: "no end\nforks: 2\n', 14, 14, "this quoted string is never closed"),
        ("description: [a, b]]\n", 14, 20, "expected <block end>, but found ']'"),
        ("forks: 2\nforks: 3\n", 15, 1, "duplicate key 'forks'"),
        ("rollbak: []\n", 14, 1, "unknown key 'rollbak' (did you mean 'rollback'?)"),
        ("description: a\x00b\n", 14, 15, "special characters are not allowed"),
        ("---\ndrill: other\n", 14, 1, "expected a single YAML document"),
        ("\tforks: 2\n", 14, 1, "found character '\\t'"),
        ("x: " + "[" * 3000 + "]" * 3000 + "\n", 1, 1, "YAML nesting is too deep"),
    ],
)
def test_unreadable_yaml_is_refused_where_the_mistake_is(
    bench: Bench, tail: str, line: int, col: int, words: str
) -> None:
    """An unclosed '[', '{' or quote was reported where PyYAML noticed it, lines later or at
    the end of the file; the message now points at the opener."""
    playbook = bench.playbook(bench.drill(tail=tail))
    refused(bench.run(playbook), playbook, line, col, words)
    bench.assert_untouched()


def test_an_alias_bomb_is_refused_quickly(bench: Bench) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n"
        for p, n in zip("abcdefg", "bcdefgh", strict=True)
    )
    playbook = bench.playbook(bomb + bench.drill())
    started = time.monotonic()
    outcome = bench.run(playbook)
    assert time.monotonic() - started < 10
    assert outcome.code == 2 and "expands to more than" in outcome.err, outcome.err
    bench.assert_untouched()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- a\n- b\n", "got a list"),
        ("hello\n", "got a str"),
        ("", "got an empty file"),
    ],
)
def test_a_playbook_that_is_not_a_mapping_is_refused(bench: Bench, text: str, words: str) -> None:
    playbook = bench.playbook(text)
    refused(bench.run(playbook), playbook, 1, 1, words)
    bench.assert_untouched()


@pytest.mark.parametrize(
    ("transform", "name"),
    [(lambda t: "\ufeff" + t, "bom"), (lambda t: t.replace("\n", "\r\n"), "crlf")],
)
def test_a_bom_or_crlf_playbook_still_runs(
    bench: Bench, transform: Callable[[str], str], name: str
) -> None:
    path = bench.root / f"{name}.yml"
    path.write_bytes(transform(bench.drill()).encode("utf-8"))
    outcome = bench.run(path)
    assert outcome.code == 0, outcome.err + outcome.out
    assert bench.marker.exists()


def test_a_playbook_that_is_not_utf8_is_refused(bench: Bench) -> None:
    playbook = bench.root / "latin1.yml"
    playbook.write_bytes((bench.drill() + "description: caf\xe9\n").encode("latin-1"))
    refused(bench.run(playbook), playbook, 1, 1, "cannot read file: 'utf-8' codec")
    bench.assert_untouched()


@pytest.mark.parametrize(
    "script",
    [
        "#!/bin/sh\nexec\n",
        '#!/bin/sh\necho \'{"all": {"hosts": ["h1"]}}\'\n',
        "#!/usr/bin/env python3\nprint('{}')\n",
    ],
)
def test_a_dynamic_inventory_script_is_refused_not_read_as_hosts(bench: Bench, script: str) -> None:
    """Read as INI, `#!/bin/sh` then `exec` made a host named 'exec', which the run tried
    to reach over SSH (exit 3) after creating its run directory."""
    inventory = bench.root / "dynamic"
    inventory.write_text(script, encoding="utf-8")
    inventory.chmod(0o755)
    playbook = bench.playbook(bench.drill())
    outcome = cli("run", str(playbook), "-i", str(inventory), "--out", str(bench.out))
    refused(outcome, inventory, 1, 1, "dynamic inventory scripts are not run")
    bench.assert_untouched()


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
