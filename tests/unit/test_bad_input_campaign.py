"""Bad input in a playbook: durations, templates and YAML that cannot be read are
`path:line:col: message`, exit 2, at the mistake, and change nothing on any target."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.unit.bad_input_bench import Bench, bench, cli, refused

__all__ = ["bench"]  # the fixture, used by name


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
