"""`-e "a=1 b='x y'"`: several NAME=VALUE pairs in one item, read as ansible-core reads them.

ansible-core is the oracle: its own key=value parser (in process, over many generated
items) and, once, `ansible localhost -e ...` itself. Where Ansible would keep text that names
no variable (`_raw_params`, a key that is no identifier) or fails, drillctl refuses the item.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.cli import main
from runner.templating.variables import parse_extra_vars
from tests.lab.ansible_tools import ansible_tool


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("a=1 b=2", {"a": "1", "b": "2"}),
        ("a=1 b='x y'", {"a": "1", "b": "x y"}),
        ('a="x y" b=2', {"a": "x y", "b": "2"}),
        ("a=1  b=2 ", {"a": "1", "b": "2"}),  # runs of spaces separate too
        ("a=1\nb=2", {"a": "1", "b": "2"}),
        ("a=1 a=2", {"a": "2"}),  # the later pair wins, as between items
        ("msg='it''s'", {"msg": "it''s"}),
        ("q=a=b c=", {"q": "a=b", "c": ""}),
        ("v={{ x | default(1) }} w=2", {"v": "{{ x | default(1) }}", "w": "2"}),
        ("p=x\\ty", {"p": "x\ty"}),  # backslash escapes are decoded
        ("p=C:\\dir", {"p": "C:\\dir"}),  # ... and any other backslash stays
        ("p='a b'c", {"p": "'a b'c"}),  # quotes go only when they wrap the whole value
    ],
)
def test_one_item_holds_several_pairs_as_in_ansible(item: str, expected: dict[str, str]) -> None:
    assert parse_extra_vars([item]) == expected


def test_pairs_in_one_item_mix_with_other_items_later_winning() -> None:
    assert parse_extra_vars(["a=1 b=2", '{"b": [3]}', "c='x y' a=4"]) == {
        "a": "4",
        "b": [3],
        "c": "x y",
    }


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("a='x y", "-e 'a=… …': an unclosed quote or {{ }}/{% %}/{# #} block"),
        ("a={{ b", "-e 'a=… …': an unclosed quote or {{ }}/{% %}/{# #} block"),
        ("a=1 b", "-e 'a=… …': word 2 is not a pair; expected NAME=VALUE, a JSON mapping or @FILE"),
        ("a= 1", "-e 'a=… …': word 2 is not a pair"),
        ("a=1 bad-name=2", "-e 'a=… …': 'bad-name' is not a variable name"),
        ("a=1 =2", "-e 'a=… …': '' is not a variable name"),
        ("a=\\N{NOSUCHNAME}", "-e 'a=…': bad escape in word 1"),
        ("./vars.yml", "to read variables from a file, write -e @./vars.yml"),
    ],
)
def test_an_item_that_is_not_all_pairs_is_refused_naming_it(item: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^-e ") as caught:
        parse_extra_vars([item])
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "item",
    [
        "pw=correct horse",  # a value with a space, not quoted: `horse` is no pair
        "pw='correct horse",
        "pw=correct-horse bad-name=1",
        "pw=correct-horse\\N{NOSUCHNAME}",
        '{"pw": "correct-horse", "1bad": 2}',
        '["correct-horse"]',
    ],
)
def test_a_refused_item_is_named_without_any_value_in_it(item: str) -> None:
    # Any -e value may be a secret, and which are is known only once the playbook is read.
    with pytest.raises(ValueError, match=r"^-e ") as caught:
        parse_extra_vars([item])
    assert "horse" not in str(caught.value) and "…" in str(caught.value), caught.value


def test_bad_pairs_on_the_command_line_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text("drill: smoke\nrollback_type: 1\nverify:\n  - command: echo ok\n")
    assert main(["plan", str(playbook), "-e", "a=1 b='x"]) == 2
    err = capsys.readouterr().err
    assert "<command line>:1:1: -e 'a=… b=…': an unclosed quote" in err
    assert "Traceback" not in err
    assert main(["plan", str(playbook), "-e", "a=1 b='x y'"]) == 0


# --- ansible-core as the oracle ----------------------------------------------------------


def ansible_reading(item: str) -> dict[str, Any] | None:
    """What ansible-core's key=value parser makes of an item: its variables, or None when it
    fails, keeps something that names no variable, or sets none at all (Ansible ignores
    such an item; drillctl refuses it, as a `-e` that sets nothing is a mistake)."""
    splitter = pytest.importorskip("ansible.parsing.splitter")
    try:
        parsed = splitter.parse_kv(item)
    except Exception:
        return None
    if not parsed or "_raw_params" in parsed or not all(str(k).isidentifier() for k in parsed):
        return None
    return {str(k): str(v) for k, v in parsed.items()}


def drillctl_reading(item: str) -> dict[str, Any] | None:
    try:
        return parse_extra_vars([item])
    except ValueError:
        return None


CORPUS = [
    "a=1 b=2",
    "a=1 b='x y'",
    'a="x y" b=2',
    "a='x",
    "a={{ 1 + 1 }}",
    "a={% if x %}1{% endif %} b=2",
    "a={# note #} b",
    "a=x\\ty b=\\x41",
    "a=\\'q\\' b=c",
    "a\\=b=c",
    "a=b\\=c d=e",
    "a = 1",
    "a=1\\\nb=2",
    "a=1 \\ b=2",
    "a='1' b=\"2\" c='3\"",
    "novalue",
    "=x",
]


@pytest.mark.parametrize("item", CORPUS)
def test_each_item_reads_as_ansible_core_reads_it(item: str) -> None:
    assert drillctl_reading(item) == ansible_reading(item)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["a", "b", "x1", "_", "=", " ", "  ", "'", '"', "\\", "\n"]),
            st.sampled_from(["{{", "}}", "{%", "%}", "{#", "#}", "\\t", "\\=", "-", "é"]),
        ),
        min_size=1,
        max_size=12,
    ).map("".join)
)
def test_generated_items_read_as_ansible_core_reads_them(item: str) -> None:
    if item[:1] in ("@", "/", ".", "{", "[") or item.lstrip()[:1] in ("{", "["):
        return  # files and mappings take other paths, tested elsewhere
    assert drillctl_reading(item) == ansible_reading(item)


def test_ansible_itself_and_drillctl_agree_on_a_run_with_pairs() -> None:
    """`ansible localhost -e ...`, the command itself, against what drillctl reads."""
    items = ["a=1 b='x y'", 'c="two words" d=4', "a=5"]
    argv = [ansible_tool("ansible"), "localhost", "-m", "debug", "-a", "var=vars_seen"]
    for item in items:
        argv += ["-e", item]
    argv += ["-e", "vars_seen={{ {'a': a, 'b': b, 'c': c, 'd': d} }}"]
    with tempfile.TemporaryDirectory(prefix="drillctl-ansible-") as home:
        config = Path(home) / "ansible.cfg"
        config.write_text("[defaults]\n")
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(config),
            "ANSIBLE_HOME": home,
            "ANSIBLE_LOCAL_TEMP": home,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "0",
        }
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # Ad-hoc output: `localhost | SUCCESS => {JSON of the task's result}`.
    seen = json.loads(done.stdout.split("=> ", 1)[1])["vars_seen"]
    assert seen == {"a": "5", "b": "x y", "c": "two words", "d": "4"}
    assert parse_extra_vars(items) == seen
