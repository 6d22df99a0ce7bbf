"""Fuzzing inventories (YAML and INI) and host patterns: an inventory loads or is refused with
located findings; a pattern selects hosts of the inventory or is refused with PatternError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from runner.errors import InputError
from runner.inventory import PatternError, load_inventory
from runner.inventory.model import Inventory
from runner.inventory.patterns import select_hosts
from tests.fuzz.strategies import (
    REPO,
    assert_located,
    fuzz_settings,
    host_patterns,
    mutated,
    repo_files,
    steer,
    values,
)

EXAMPLE_YAML = repo_files("inventories/*.yml") + repo_files("inventories/examples/hosts.yml")
EXAMPLE_INI = repo_files("inventories/examples/hosts.ini")
INVENTORY = load_inventory(REPO / "inventories" / "examples" / "hosts.yml")

HOST_NAMES = st.one_of(
    st.sampled_from(["lab1", "web[01:03]", "db[a:c]", "h:2222", "[::1]:22", "::1", "x[1:0]"]),
    st.from_regex(r"\A[a-z]{1,4}(\[\d{1,2}:\d{1,2}(:\d)?\])?(:\d{1,6})?\Z"),
    st.text(min_size=1, max_size=8),
)
INI_VALUES = ["1", "[1, 2]", '{"a": 1}', "yes", '"q', "True", "'x' # c", "1e999", "-0x10"]
CONNECTION_VARS = st.fixed_dictionaries(
    {},
    optional={
        "address": values(0),
        "port": st.one_of(st.integers(-1, 70000), values(0)),
        "connection": st.sampled_from(["local", "ssh", "docker", "smart", "telnet"]),
        "ansible_host": values(0),
        "user": values(0),
        "environment": values(0),
    },
)


@st.composite
def yaml_inventories(draw: st.DrawFn, depth: int = 2) -> dict[str, Any]:
    group: dict[str, Any] = {}
    if draw(st.booleans()):
        group["hosts"] = draw(
            st.dictionaries(HOST_NAMES, st.one_of(st.none(), CONNECTION_VARS), max_size=3)
        )
    if draw(st.booleans()):
        group["vars"] = draw(st.one_of(CONNECTION_VARS, values(1)))
    if depth and draw(st.booleans()):
        group["children"] = draw(
            st.dictionaries(
                st.sampled_from(["gateway", "db", "all", "web"]),
                yaml_inventories(depth - 1),
                max_size=2,
            )
        )
    if draw(st.integers(0, 8)) == 0:
        group["bogus"] = draw(values(0))
    return {"all": group} if depth == 2 else group


@st.composite
def ini_inventories(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 5))
        name = draw(st.sampled_from(["gateway", "db", "all", "web", "g x", ""]))
        if kind == 0:
            lines.append(f"[{name}{draw(st.sampled_from(['', ':vars', ':children', ':bogus']))}]")
        elif kind == 1:
            pairs = draw(
                st.lists(
                    st.tuples(st.sampled_from(["address", "port", "x", ""]), st.text(max_size=6)),
                    max_size=3,
                )
            )
            entry = draw(HOST_NAMES)
            lines.append(" ".join([entry, *(f"{k}={v}" for k, v in pairs)]))
        elif kind == 2:
            key = draw(st.sampled_from(["x", "port", ""]))
            value = draw(st.sampled_from(INI_VALUES))
            lines.append(f"{key} = {value}")
        elif kind == 3:
            lines.append(draw(st.sampled_from(["# comment", "; comment", "", "   "])))
        else:
            lines.append(draw(st.text(max_size=12)))
    return "\n".join(lines) + "\n"


def check(path: Path, text: str) -> Inventory | None:
    path.write_text(steer(text, max_digits=4), encoding="utf-8", errors="surrogatepass")
    try:
        inventory = load_inventory(path)
    except InputError as exc:
        assert_located(exc.diagnostics)
        return None
    assert "all" in inventory.groups
    return inventory


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-inventories")


@fuzz_settings(120)
@given(inventory=yaml_inventories())
@example(inventory={"all": {"hosts": {"h[1:0]": None}}})
@example(inventory={"all": {"children": {"all": {}}}})
def test_generated_yaml_inventories_load_or_are_refused_located(
    inventory: dict[str, Any], workdir: Path
) -> None:
    check(workdir / "inventory.yml", yaml.safe_dump(inventory))


@fuzz_settings(120)
@given(text=ini_inventories())
@example(text="[g]\nh ansible_port=22 x='unterminated\n")
@example(text="[g:children]\nmissing\n")
@example(text="[::1]:2222\n")
@example(text="[gateway]\n[gateway]\nlab1 port=1\n")
def test_generated_ini_inventories_load_or_are_refused_located(text: str, workdir: Path) -> None:
    check(workdir / "hosts.ini", text)


@fuzz_settings(100)
@given(data=st.data(), source=st.sampled_from(EXAMPLE_YAML + EXAMPLE_INI))
def test_mutated_example_inventories_load_or_are_refused_located(
    data: st.DataObject, source: str, workdir: Path
) -> None:
    name = "hosts.ini" if source in EXAMPLE_INI else "inventory.yml"
    check(workdir / name, data.draw(mutated(source)))


@fuzz_settings(200)
@given(pattern=host_patterns())
@example(pattern="")
@example(pattern="::1")
@example(pattern="~(")
@example(pattern="all:!all")
@example(pattern="a,,b")
def test_a_host_pattern_selects_inventory_hosts_or_is_refused(pattern: str) -> None:
    try:
        hosts = select_hosts(INVENTORY, pattern)
    except PatternError as exc:
        assert str(exc)
        return
    names = [h.name for h in hosts]
    assert len(names) == len(set(names))
    for host in hosts:
        assert host.name in INVENTORY.hosts or host.connection == "local"
