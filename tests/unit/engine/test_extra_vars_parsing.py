"""`-e` inline mappings and files: read as YAML 1.1 as Ansible reads them, leading blanks
allowed, bad YAML located at the command line, a bad key named with its item; rules a
mutation run found no unit test pinning down.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import InputError
from runner.templating.variables import parse_extra_vars


def test_an_inline_mapping_is_yaml_1_1_as_ansible_reads_it() -> None:
    assert parse_extra_vars(["{enabled: no, port: 80}"]) == {"enabled": False, "port": 80}


def test_an_inline_mapping_may_start_with_blanks() -> None:
    assert parse_extra_vars(["  {a: 1}"]) == {"a": 1}
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        parse_extra_vars(["  a"])


def test_an_inline_mapping_that_is_not_yaml_is_located_at_the_command_line() -> None:
    with pytest.raises(InputError) as caught:
        parse_extra_vars(["{a: [1"])
    assert str(caught.value).startswith("<command line>:1:")


def test_a_key_that_cannot_name_a_variable_is_refused_naming_its_item(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as inline:
        parse_extra_vars(['{"1bad": 2}'])
    assert str(inline.value) == "-e {…}: '1bad' is not a variable name"
    path = tmp_path / "vars.yml"
    path.write_text("ok: 1\n2bad: 2\n")
    with pytest.raises(ValueError) as from_file:
        parse_extra_vars([f"@{path}"])
    assert str(from_file.value) == f"-e @{path}: '2bad' is not a variable name"
