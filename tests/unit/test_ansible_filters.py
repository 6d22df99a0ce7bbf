"""The filters, tests and lookups Ansible authors reach for, as Ansible defines them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runner.secrets import SecretMask
from runner.templating.templar import Templar, TemplateError


def ev(expr: str, **variables: Any) -> Any:
    return Templar().evaluate(expr, variables)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("'a,b,,c' | split(',')", ["a", "b", "", "c"]),
        ("'a b  c' | split", ["a", "b", "c"]),
        ("'/srv/app/releases/42' | basename", "42"),
        ("'/srv/app/releases/42' | dirname", "/srv/app/releases"),
        ("{'a': 1, 'b': {'c': 1}} | combine({'b': {'d': 2}})", {"a": 1, "b": {"d": 2}}),
        (
            "{'a': 1, 'b': {'c': 1}} | combine({'b': {'d': 2}}, recursive=true)",
            {"a": 1, "b": {"c": 1, "d": 2}},
        ),
        ("{'l': [1]} | combine({'l': [2]}, list_merge='append')", {"l": [1, 2]}),
        ("[{'a': 1}, {'a': 2, 'b': 3}] | combine", {"a": 2, "b": 3}),
        ("{'x': 1} | dict2items", [{"key": "x", "value": 1}]),
        ("{'x': 1} | dict2items('k', 'v')", [{"k": "x", "v": 1}]),
        ("[{'key': 'x', 'value': 1}] | items2dict", {"x": 1}),
        ("'a: [1, 2]' | from_yaml", {"a": [1, 2]}),
        ("'x' | mandatory", "x"),
    ],
)
def test_filters_give_what_ansible_gives(expr: str, expected: Any) -> None:
    assert ev(expr) == expected


@pytest.mark.parametrize(
    ("version", "op", "other", "expected"),
    [
        ("1.10.2", ">", "1.9", True),
        ("1.9", ">", "1.10.2", False),
        ("2.0", ">=", "2.0", True),
        ("2.0", ">", "2.0", False),
        ("2.0", "eq", "2.0", True),
        ("2.0", "!=", "2.0.1", True),
        ("3.1.2", "<", "3.2.0", True),
        ("1.0", "<", "1.0a", True),
    ],
)
def test_the_version_test_compares_on_both_sides_of_equality(
    version: str, op: str, other: str, expected: bool
) -> None:
    assert ev(f"v is version({other!r}, {op!r})", v=version) is expected


def test_mandatory_fails_with_the_message_when_the_value_is_missing() -> None:
    with pytest.raises(TemplateError, match="region is required"):
        ev("region | mandatory('region is required')")


def test_an_unknown_version_operator_is_an_error() -> None:
    with pytest.raises(TemplateError, match="unknown operator"):
        ev("'1' is version('2', '~=')")


def test_from_yaml_refuses_an_alias_bomb() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    with pytest.raises(TemplateError, match="from_yaml"):
        ev("s | from_yaml", s=bomb)


def test_lookup_file_reads_a_controller_file_and_env_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "token"
    path.write_text("line one\n")
    assert ev(f"lookup('file', {str(path)!r})") == "line one"
    with pytest.raises(TemplateError, match="No such file"):
        ev(f"lookup('file', {str(tmp_path / 'nope')!r})")
    monkeypatch.setenv("DRILL_TOKEN", "s3cret-token")
    mask = SecretMask()
    assert Templar(mask).evaluate("lookup('env', 'DRILL_TOKEN')", {}) == "s3cret-token"
    assert mask.mask("x s3cret-token y") == "x ******** y"
    assert os.environ["DRILL_TOKEN"]


def test_an_unknown_lookup_plugin_is_an_error() -> None:
    with pytest.raises(TemplateError, match="not available"):
        ev("lookup('pipe', 'id')")


def test_lint_knows_the_new_filters_and_wants_lookup_env_declared(tmp_path: Path) -> None:
    from runner.lint.linter import lint_file

    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: d\nrollback_type: 2\nenv: [REGION]\n"
        "vars:\n"
        "  region: \"{{ lookup('env', 'REGION', secret=false) }}\"\n"
        "  token: \"{{ lookup('env', 'TOKEN') }}\"\n"
        "  cfg: \"{{ {'a': 1} | combine({'b': 2}) | dict2items | items2dict | to_json }}\"\n"
        "  base: \"{{ '/a/b' | basename }}\"\n"
        'deploy:\n  - command: "true"\n'
    )
    found = [d.message for d in lint_file(str(playbook))]
    assert any("'TOKEN' is read but not declared" in m for m in found), found
    assert not any("REGION" in m for m in found), found
    assert not any("filter" in m.lower() for m in found), found
