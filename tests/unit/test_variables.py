"""Host variables: layered, resolved in dependency order, cycles refused; `-e` values parsed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.errors import InputError
from runner.inventory.model import Host
from runner.templating.templar import Templar
from runner.templating.variables import VariableError, parse_extra_vars, resolve_host_vars

GW1 = Host(
    name="gw1",
    address="10.0.0.1",
    connection="ssh",
    port=22,
    user="drill",
    vars={},
    groups=("all",),
)


def resolve(*layers: dict[str, Any], magic: dict[str, Any] | None = None) -> dict[str, Any]:
    return resolve_host_vars(Templar(), GW1, list(layers), magic or {})


def test_later_layers_win() -> None:
    result = resolve({"port": 80, "user": "group"}, {"user": "host"}, {"port": 8080})
    assert (result["port"], result["user"]) == (8080, "host")


def test_variables_may_refer_to_variables_defined_after_them() -> None:
    result = resolve(
        {"url": "http://{{ addr }}:{{ port }}", "addr": "{{ ip }}", "ip": "10.0.0.9", "port": 80}
    )
    assert result["url"] == "http://10.0.0.9:80"
    assert result["addr"] == "10.0.0.9"


def test_a_reference_resolves_against_the_winning_layer() -> None:
    result = resolve({"url": "http://{{ addr }}", "addr": "group"}, {"addr": "host"})
    assert result["url"] == "http://host"


def test_templates_inside_lists_and_mappings_are_resolved_in_order() -> None:
    result = resolve(
        {"urls": ["{{ base }}/a", {"b": "{{ base }}/b"}], "base": "http://{{ ip }}", "ip": "h"}
    )
    assert result["urls"] == ["http://h/a", {"b": "http://h/b"}]


def test_magic_variables_are_available_and_returned() -> None:
    result = resolve(
        {"dir": "{{ run_dir }}/{{ inventory_hostname }}"},
        magic={"run_dir": "/r", "inventory_hostname": "gw1"},
    )
    assert result["dir"] == "/r/gw1"
    assert result["run_dir"] == "/r"


def test_values_without_templates_are_kept_as_they_are() -> None:
    value = {"n": 3, "flag": True, "none": None, "list": [1, 2]}
    assert resolve(value) == value


def test_a_cycle_is_a_variable_error_naming_the_whole_cycle() -> None:
    with pytest.raises(VariableError) as caught:
        resolve({"a": "{{ b }}", "b": "{{ c }}", "c": "{{ a }}"})
    assert str(caught.value) == "variables refer to each other in a cycle: a -> b -> c -> a"
    assert caught.value.name == "a"


def test_a_variable_that_refers_to_itself_is_a_cycle() -> None:
    with pytest.raises(VariableError, match="cycle: port -> port"):
        resolve({"port": "{{ port | int + 1 }}"})


def test_a_cycle_reached_from_an_innocent_variable_names_only_the_cycle() -> None:
    with pytest.raises(VariableError, match=r"cycle: b -> c -> b$"):
        resolve({"a": "{{ b }}", "b": "{{ c }}", "c": "{{ b }}"})


def test_an_undefined_reference_is_a_variable_error_naming_variable_and_host() -> None:
    with pytest.raises(VariableError) as caught:
        resolve({"url": "http://{{ missing_host }}"})
    assert caught.value.name == "url"
    assert str(caught.value).startswith("variable 'url' on host gw1: undefined variable")


def test_a_template_syntax_error_is_a_variable_error() -> None:
    with pytest.raises(VariableError, match="variable 'bad' on host gw1: template syntax error"):
        resolve({"bad": "{{ oops"})


# --- -e ---------------------------------------------------------------------------------


def test_extra_vars_are_name_value_pairs_kept_as_text() -> None:
    assert parse_extra_vars(["version=2", "flag=true", "empty="]) == {
        "version": "2",
        "flag": "true",
        "empty": "",
    }


def test_only_the_first_equals_sign_splits() -> None:
    assert parse_extra_vars(["query=a=b"]) == {"query": "a=b"}


def test_a_later_extra_var_wins() -> None:
    assert parse_extra_vars(["v=1", "v=2"]) == {"v": "2"}


@pytest.mark.parametrize("item", ["novalue", ""])
def test_an_extra_var_without_equals_sign_is_refused(item: str) -> None:
    with pytest.raises(ValueError, match="expected NAME=VALUE, a JSON mapping or @FILE"):
        parse_extra_vars([item])


@pytest.mark.parametrize("item", ["=x", "1st=x", "bad-name=x", "a.b=x"])
def test_an_extra_var_name_must_be_an_identifier(item: str) -> None:
    with pytest.raises(ValueError, match="is not a variable name"):
        parse_extra_vars([item])


def test_a_word_beside_a_pair_is_refused_not_read_into_the_name() -> None:
    # As in Ansible, spaces separate pairs: `a b=x` is the word `a`, then `b=x`.
    with pytest.raises(ValueError, match="word 1 is not a pair"):
        parse_extra_vars(["a b=x"])


def test_extra_vars_from_a_yaml_file_keep_their_types(tmp_path: Path) -> None:
    # Read as Ansible reads vars files: YAML 1.1, where `yes` is true and "yes" is text.
    path = tmp_path / "vars.yml"
    path.write_text('version: 2\nhosts: [a, b]\nflag: yes\nword: "yes"\n', encoding="utf-8")
    assert parse_extra_vars([f"@{path}", "version=3"]) == {
        "version": "3",
        "hosts": ["a", "b"],
        "flag": True,
        "word": "yes",
    }


def test_extra_vars_take_an_inline_json_mapping_with_its_types() -> None:
    assert parse_extra_vars(['{"ports": [80, 443], "on": true}', "name=web"]) == {
        "ports": [80, 443],
        "on": True,
        "name": "web",
    }
    with pytest.raises(ValueError, match="give a mapping of variables"):
        parse_extra_vars(["[1, 2]"])
    with pytest.raises(ValueError, match="is not a variable name"):
        parse_extra_vars(['{"not a name": 1}'])


def test_an_extra_vars_file_must_hold_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "vars.yml"
    path.write_text("- a\n", encoding="utf-8")
    with pytest.raises(ValueError, match="the file must hold a mapping of variables"):
        parse_extra_vars([f"@{path}"])


def test_a_missing_extra_vars_file_is_a_located_input_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    with pytest.raises(InputError) as caught:
        parse_extra_vars([f"@{path}"])
    assert str(caught.value) == f"{path}:1:1: file not found"
