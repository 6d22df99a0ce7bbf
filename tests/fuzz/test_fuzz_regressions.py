"""What fuzzing found, kept as plain tests.

Each BUG was a loader that let an exception other than InputError escape (a traceback for
bad input, README "Exit codes"), or that never returned. All are fixed; these tests keep
them fixed. A new finding that cannot be fixed at once goes here as a strict xfail, and its
inputs into `strategies.steer` so the fuzzers keep looking for others.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.durations import parse_duration
from runner.errors import InputError
from runner.inventory import load_inventory
from runner.lint.linter import lint_file
from runner.playbook.loader import load_playbook
from tests.conftest import child_env
from tests.fuzz.strategies import assert_located

HEAD = "drill: x\nrollback_type: 2\n"


def refused(text: str) -> InputError:
    with pytest.raises(InputError) as caught:
        load_playbook("drill.yml", text)
    assert_located(caught.value.diagnostics)
    return caught.value


# -- BUG 1: characters YAML may not contain -------------------------------------------------------


@pytest.mark.parametrize(
    "text", [HEAD + "description: a\x00b\n", "\x1f" + HEAD], ids=["nul", "unit-separator"]
)
def test_a_control_character_in_a_playbook_is_a_located_error(text: str) -> None:
    refused(text)


def test_lint_of_a_playbook_with_a_control_character_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "drill.yml"
    path.write_text(HEAD + "description: a\x00b\n")
    assert_located(lint_file(path))


def test_a_control_character_in_a_yaml_inventory_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  hosts:\n    a\x00b:\n")
    with pytest.raises(InputError):
        load_inventory(path)


# -- BUG 2: integers too large for a float --------------------------------------------------------

HUGE = "1" + "0" * 400  # 1e400: an int in YAML, larger than any float


def test_a_duration_too_large_for_a_float_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_duration(10**400)


@pytest.mark.parametrize(
    "text",
    [
        HEAD + f"verify:\n  - command: echo\n    timeout: {HUGE}\n",
        HEAD + f"objectives: {{rto: {HUGE}}}\n",
    ],
    ids=["timeout", "rto"],
)
def test_a_duration_too_large_for_a_float_is_a_located_error(text: str) -> None:
    refused(text)


# -- BUG 3: integers past Python's 4300-digit conversion limit ------------------------------------

DIGITS = "9" * 5000


@pytest.mark.parametrize("value", [DIGITS, "0x" + "f" * 5000], ids=["decimal", "hex"])
def test_an_integer_past_4300_digits_in_a_playbook_is_a_located_error(value: str) -> None:
    refused(HEAD.replace("2", value))


@pytest.mark.parametrize("entry", [f"h:{DIGITS}", f"h[{DIGITS}:1]"], ids=["port", "range"])
def test_an_ini_host_entry_past_4300_digits_is_a_located_error(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(f"[g]\n{entry}\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert_located(caught.value.diagnostics)


# -- BUG 7: digits that are not decimal ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [("hosts.ini", "[g]\nh port=¹\n"), ("inventory.yml", "all:\n  hosts:\n    h: {port: '²'}\n")],
    ids=["ini", "yaml"],
)
def test_a_port_of_non_decimal_digits_is_a_located_error(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert_located(caught.value.diagnostics)


# -- BUG 8: children of a group that could not be declared -------------------------------------


def test_children_of_an_invalid_group_name_are_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text("[web]\nw1\n[!trading:children]\nweb\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert "invalid group name '!trading'" in str(caught.value)


# -- BUG 4 and 5: inputs that never finish --------------------------------------------------------


def run_bounded(
    code: str, *, seconds: float, memory_mb: int = 1024
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a child Python with a time and an address-space limit (so a runaway
    expansion fails there, not on this machine)."""

    def limit() -> None:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=seconds,
            preexec_fn=limit,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not finish within {seconds}s")


def test_a_host_range_of_a_hundred_million_hosts_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  hosts:\n    h[0:99999999]:\n")
    proc = run_bounded(
        f"""
        from runner.errors import InputError
        from runner.inventory import load_inventory
        try:
            load_inventory({str(path)!r})
        except InputError as exc:
            print("refused:", exc)
        """,
        seconds=20,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("refused:"), proc.stderr[-500:]


@pytest.mark.parametrize(
    "template",
    [
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{{ (7 ** 30000000) % 10 }}",
    ],
    ids=["nested-loops", "power"],
)
def test_rendering_a_runaway_template_is_bounded(template: str) -> None:
    proc = run_bounded(
        f"""
        from runner.templating.templar import Templar, TemplateError
        try:
            Templar().render_text({template!r}, {{}})
        except TemplateError as exc:
            print("refused:", exc)
        """,
        seconds=5,
    )
    assert proc.stdout.startswith("refused:"), proc.stderr[-500:]


# -- BUG 6: templates the sandbox refuses while compiling -----------------------------------------


@pytest.mark.parametrize("template", ["{{ not (''.__class__ and x) }}", "{{ \u0660.0 }}"])
def test_a_template_the_sandbox_refuses_while_compiling_is_a_located_error(template: str) -> None:
    [diagnostic] = refused(HEAD + f"verify:\n  - command: {template!r}\n").diagnostics
    assert diagnostic.line == 4


def test_lint_reports_a_template_the_sandbox_refuses_while_compiling(tmp_path: Path) -> None:
    path = tmp_path / "drill.yml"
    path.write_text(HEAD + "verify:\n  - assert: {that: '\u0660.0'}\n", encoding="utf-8")
    assert_located(lint_file(path))


# -- inputs that once looked suspicious and are handled: kept as specifications --------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [*a]\n",  # a recursive alias
        "- &a [*a, *a]\n" * 1,
        HEAD + "<<: [1]\n",  # a merge key of a non-mapping
        HEAD + "rollback_type: 1e999\n",
        "{{\n",
    ],
)
def test_odd_yaml_is_refused_with_located_findings(text: str) -> None:
    refused(text)


def test_jinja_power_is_left_associative_and_loads() -> None:
    load_playbook("drill.yml", HEAD + "verify:\n  - command: 'echo {{ 9 ** 9 ** 9 }}'\n")


def test_a_billion_laughs_document_is_refused_not_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    error = refused("\n".join(lines) + "\n")
    assert "expands to more than" in error.diagnostics[0].message
