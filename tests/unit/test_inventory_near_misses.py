"""A host variable one keystroke from a connection name is said before a drill or exec
touches the host, where it was written; it is still an ordinary variable, and nothing stops."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main
from runner.inventory.loader import load_inventory
from runner.inventory.near_misses import one_edit_apart


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("conection", "connection"),  # a letter dropped
        ("connnection", "connection"),  # one added
        ("prot", "port"),  # two swapped
        ("adress", "address"),
        ("usr", "user"),
        ("ansible_hots", "ansible_host"),
        ("ansible_conection", "ansible_connection"),
        ("Port", "port"),  # only the case
        ("pert", "port"),  # one changed
        ("enviroment", "environment"),
    ],
)
def test_one_edit_is_a_near_miss(written: str, name: str) -> None:
    assert one_edit_apart(written, name)


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("port", "port"),  # the name itself
        ("ports", "port"),  # a plural is a name of its own
        ("users", "user"),
        ("prtos", "port"),  # two edits
        ("connect", "connection"),
        ("sport", "port_"),
        ("address_v6", "address"),
        ("op", "port"),
    ],
)
def test_more_than_one_edit_or_a_plural_is_not(written: str, name: str) -> None:
    assert not one_edit_apart(written, name)


def _inventory(tmp_path: Path, host_vars: str, group_vars: str = "") -> Path:
    path = tmp_path / "inv.yml"
    path.write_text(
        "all:\n"
        f"  vars:\n    role: lab\n{group_vars}"
        "  hosts:\n"
        "    web1:\n"
        "      connection: local\n"
        f"{host_vars}"
        "    web2:\n"
        "      connection: local\n",
        encoding="utf-8",
    )
    return path


def _playbook(tmp_path: Path, hosts: str) -> Path:
    path = tmp_path / "drill.yml"
    path.write_text(
        f"drill: d\nrollback_type: 1\nhosts: {hosts}\nverify:\n  - command: 'true'\n",
        encoding="utf-8",
    )
    return path


def test_a_misspelt_name_is_located_on_its_host_and_changes_nothing(tmp_path: Path) -> None:
    inventory = load_inventory(_inventory(tmp_path, "      prot: 2222\n      ports: [80]\n"))
    (warning,) = inventory.warnings["web1"]
    assert (warning.path, warning.line, warning.col) == (str(tmp_path / "inv.yml"), 7, 13)
    assert warning.severity == "warning"
    assert "variable 'prot' looks like 'port', which the host does not set" in warning.message
    assert "web2" not in inventory.warnings  # not its variable
    web1 = inventory.hosts["web1"]
    assert web1.port is None and web1.vars["prot"] == 2222  # an ordinary variable, as written


def test_a_group_variable_warns_every_host_of_the_group_in_one_line(tmp_path: Path) -> None:
    inventory = load_inventory(_inventory(tmp_path, "", group_vars="    ansible_usr: deploy\n"))
    hosts = list(inventory.hosts.values())
    assert sorted(inventory.warnings) == ["web1", "web2"]
    assert len(inventory.warnings_of(hosts)) == 1
    assert all(
        "'ansible_usr' looks like 'ansible_user'" in w.message for w in inventory.warnings_of(hosts)
    )


def test_a_name_that_is_set_beside_its_look_alike_is_not_a_near_miss(tmp_path: Path) -> None:
    inventory = load_inventory(_inventory(tmp_path, "      port: 2222\n      prot: tcp\n"))
    assert dict(inventory.warnings) == {}


def test_plan_tells_of_a_near_miss_on_a_host_it_targets_and_still_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = _inventory(tmp_path, "      usr: deploy\n")
    playbook = _playbook(tmp_path, "web1")
    assert main(["plan", str(playbook), "-i", str(inv)]) == 0
    err = capsys.readouterr().err
    assert f"{inv}:7:12: warning: variable 'usr' looks like 'user'" in err
    # A drill that does not touch the host hears nothing of it.
    playbook = _playbook(tmp_path, "web2")
    assert main(["plan", str(playbook), "-i", str(inv)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_exec_tells_of_a_near_miss_and_still_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = _inventory(tmp_path, "      adress: 10.0.0.9\n")
    marker = tmp_path / "ran"
    assert main(["exec", "web1", "-i", str(inv), "--", "touch", str(marker)]) == 0
    assert f"{inv}:7:15: warning: variable 'adress' looks like 'address'" in (
        capsys.readouterr().err
    )
    assert marker.exists()


def test_lint_warns_at_the_variable_and_a_noqa_there_silences_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv = _inventory(tmp_path, "      prot: 2222\n")
    playbook = _playbook(tmp_path, "all")
    assert main(["lint", str(playbook), "-i", str(inv)]) == 0  # a warning: exit 0
    out = capsys.readouterr().out
    assert f"{inv}:7:13: misspelt-host-variable variable 'prot' looks like" in out
    assert main(["lint", str(playbook), "-i", str(inv), "--strict"]) == 1
    capsys.readouterr()
    inv.write_text(
        inv.read_text().replace("prot: 2222", "prot: 2222  # noqa: misspelt-host-variable")
    )
    assert main(["lint", str(playbook), "-i", str(inv), "--strict"]) == 0
    assert "misspelt-host-variable" not in capsys.readouterr().out


def test_a_misspelt_environment_is_told_of_since_the_production_guard_reads_it(
    tmp_path: Path,
) -> None:
    inventory = load_inventory(_inventory(tmp_path, "      enviroment: production\n"))
    (warning,) = inventory.warnings["web1"]
    assert "variable 'enviroment' looks like 'environment', which the host does not" in (
        warning.message
    )
