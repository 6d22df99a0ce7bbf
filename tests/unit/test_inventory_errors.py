"""Bad inventories: every problem named with file, line and column, never a traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import InputError
from runner.inventory import load_inventory


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def problems(path: Path) -> list[str]:
    """Every diagnostic loading `path` gives, as `line:col: message` (path checked too)."""
    with pytest.raises(InputError) as info:
        load_inventory(path)
    found = info.value.diagnostics
    assert found, "InputError without diagnostics"
    return [str(d).removeprefix(f"{d.path}:") for d in found]


# --- YAML layout -------------------------------------------------------------------------


def test_hosts_written_as_a_list_is_a_located_type_error(tmp_path: Path) -> None:
    path = write(tmp_path, "inv.yml", "all:\n  hosts:\n    - gw1\n    - gw2\n")

    assert problems(path) == ["3:5: all.hosts: expected a mapping or null, got a list"]


def test_an_unknown_group_key_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          children:
            gateway:
              host:
                gw1:
        """,
    )

    assert problems(path) == ["4:7: unknown group key 'host' (did you mean 'hosts'?)"]


def test_vars_that_are_not_a_mapping_are_located(tmp_path: Path) -> None:
    path = write(tmp_path, "inv.yml", "all:\n  vars: [a, b]\n")

    assert problems(path) == ["2:9: all.vars: expected a mapping or null, got a list"]


def test_a_duplicate_key_in_a_yaml_inventory_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "inv.yml", "all:\n  hosts:\n    gw1:\n    gw1:\n")

    assert problems(path) == ["4:5: duplicate key 'gw1' (first defined at line 3, column 5)"]


def test_invalid_yaml_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "inv.yml", "all:\n  hosts: [gw1\n")

    [message] = problems(path)
    assert message.startswith("2:10: invalid YAML: this '[' is never closed")


def test_group_loops_and_all_as_a_child_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          children:
            a:
              children:
                b:
                  children:
                    a:
            c:
              children:
                all:
        """,
    )

    assert problems(path) == [
        "7:13: group 'a' under 'b' makes a loop: b -> a -> b",
        "10:9: 'all' holds every group; it cannot be a child of 'c'",
    ]


def test_unusable_host_and_group_names_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inv.yml",
        """
        all:
          hosts:
            "gw1 ansible_port=22":
            web[3:1]:
          children:
            "ops team":
        """,
    )

    found = problems(path)
    assert found[0].startswith("3:5: invalid host name 'gw1 ansible_port=22'")
    assert found[1] == "4:5: host range [3:1] runs backwards"
    assert found[2].startswith("6:5: invalid group name 'ops team'")


# --- connection fields -------------------------------------------------------------------


def test_a_port_out_of_range_is_located_at_its_value(tmp_path: Path) -> None:
    path = write(tmp_path, "inv.yml", "all:\n  hosts:\n    gw1:\n      port: 70000\n")

    assert problems(path) == ["4:13: port must be a port number from 1 to 65535, got 70000"]


def test_a_port_that_is_not_a_number_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\ngw1 ansible_port=ssh\n")

    assert problems(path) == ["2:5: ansible_port must be a port number from 1 to 65535, got 'ssh'"]


def test_a_bad_port_in_group_vars_is_reported_once_at_its_source(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\nh1\nh2\n[g:vars]\nansible_port = 0\n")

    assert problems(path) == ["5:16: ansible_port must be a port number from 1 to 65535, got 0"]


def test_an_unknown_connection_is_located_and_stops_only_a_drill_that_targets_it(
    tmp_path: Path,
) -> None:
    # As Ansible: an estate's inventory holds hosts of other kinds (winrm, telnet, ...); they
    # load, and only a drill that targets one is refused, at the line that set the kind.
    path = write(
        tmp_path, "inv.yml", "all:\n  vars:\n    ansible_connection: telnet\n  hosts:\n    h:\n"
    )
    inventory = load_inventory(path)
    [diag] = inventory.problems_of([inventory.hosts["h"]])
    assert f"{diag.line}:{diag.col}: {diag.message}" == (
        "3:25: ansible_connection: unknown connection 'telnet'; use 'local', 'ssh' or 'docker'"
    )
    assert inventory.hosts["h"].connection == "telnet"


def test_environment_must_be_text(tmp_path: Path) -> None:
    path = write(tmp_path, "inv.yml", "all:\n  vars:\n    environment: 2026\n")

    assert problems(path) == ["3:18: environment must be a string, such as 'staging'"]


# --- INI layout --------------------------------------------------------------------------


def test_an_ini_host_line_with_a_bare_word_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[gateway]\ngw1 ansible_host=127.0.0.2 oops\n")

    assert problems(path) == ["2:28: expected key=value after the host name, got 'oops'"]


def test_an_unterminated_quote_points_at_the_quote(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\ngw1 motd='hello\n")

    assert problems(path) == ["2:10: unterminated ' quote"]


def test_ini_section_problems_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts",
        """
        [g]
        h1
        [g:child]
        [ghost:vars]
        x=1
        [parent:children]
        g
        missing
        [g:vars]
        novalue
        [ spaced ]
        """,
    )

    assert problems(path) == [
        "3:4: unknown section type 'child': use :vars or :children",
        "4:2: [ghost:vars] names a group that is not defined (add [ghost])",
        "8:1: [parent:children] lists 'missing', a group that is not defined "
        "(add a [missing] section)",
        "10:1: expected key=value, got 'novalue'",
        "11:1: invalid section header '[ spaced ]': write [group], [group:vars] or "
        "[group:children], without spaces",
    ]


# --- files -------------------------------------------------------------------------------


def test_a_missing_file_is_reported_at_line_1_column_1(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_inventory(tmp_path / "nope.yml")

    assert str(info.value) == f"{tmp_path / 'nope.yml'}:1:1: file not found"


def test_a_directory_is_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory: give an inventory file"):
        load_inventory(tmp_path)


def test_a_bad_group_vars_file_is_located_in_that_file(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\nh\n")
    bad = write(tmp_path, "group_vars/g.yml", "x: 1\nx: 2\n")

    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert str(info.value) == f"{bad}:2:1: duplicate key 'x' (first defined at line 1, column 1)"


def test_a_vars_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\nh\n")
    bad = write(tmp_path, "host_vars/h.yml", "- a\n- b\n")

    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert (
        str(info.value) == f"{bad}:1:1: a vars file must be a mapping of variable names to values"
    )


def test_two_vars_files_for_one_group_are_refused_rather_than_one_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "hosts", "[g]\nh\n")
    write(tmp_path, "group_vars/g.yml", "x: 1\n")
    write(tmp_path, "group_vars/g.yaml", "x: 2\n")

    with pytest.raises(InputError, match=r"variables for 'g' are also in .*g\.yaml: keep one"):
        load_inventory(path)


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hosts",
        """
        [g]
        gw1 ansible_port=0
        gw2 stray
        [h:vars]
        """,
    )

    assert [p.split(":")[0] for p in problems(path)] == ["2", "3", "4"]
