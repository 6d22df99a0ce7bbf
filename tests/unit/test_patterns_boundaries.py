"""Host patterns at their edges: globs that match groups and hosts at once, subscript
bounds on both sides, regex anchoring, and names with the characters that widen a search.

Inventory (file order): web1, web2, webcache, db1, api.example.com, localhost-like none.
Groups: web (web1, web2), webdb (db1), api (api.example.com), db (db1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.inventory import Inventory, PatternError, load_inventory
from runner.inventory.patterns import select_hosts, split_pattern

INVENTORY = """\
all:
  hosts:
    webcache:
  children:
    web:
      hosts:
        web1:
        web2:
    webdb:
      hosts:
        db1:
    db:
      hosts:
        db1:
    api:
      hosts:
        api.example.com:
"""


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    path = Path(tmp_path_factory.mktemp("inventory")) / "hosts.yml"
    path.write_text(INVENTORY)
    return load_inventory(path)


def names(inv: Inventory, pattern: str) -> list[str]:
    return [h.name for h in select_hosts(inv, pattern)]


def test_a_glob_that_matches_groups_and_hosts_selects_both(inv: Inventory) -> None:
    # `web*` matches the groups web and webdb and the ungrouped host webcache.
    assert sorted(names(inv, "web*")) == ["db1", "web1", "web2", "webcache"]


def test_a_plain_group_name_means_the_group_and_not_hosts_sharing_its_prefix(
    inv: Inventory,
) -> None:
    assert names(inv, "web") == ["web1", "web2"]
    assert names(inv, "webdb") == ["db1"]


def test_a_dotted_name_searches_host_names_even_when_a_group_matched(inv: Inventory) -> None:
    assert names(inv, "api.example.com") == ["api.example.com"]
    assert names(inv, "api") == ["api.example.com"]
    assert names(inv, "api.*") == ["api.example.com"]


def test_a_question_mark_matches_exactly_one_character(inv: Inventory) -> None:
    assert names(inv, "web?") == ["web1", "web2"]
    assert names(inv, "web??") == ["db1"]  # the group webdb
    assert names(inv, "web???") == []
    assert names(inv, "db?") == ["db1"]


def test_a_regex_matches_from_the_start_but_not_to_the_end(inv: Inventory) -> None:
    assert sorted(names(inv, "~web")) == ["db1", "web1", "web2", "webcache"]
    assert names(inv, "~eb") == []
    assert names(inv, "~web[0-9]$") == ["web1", "web2"]


@pytest.mark.parametrize(
    ("pattern", "selected"),
    [
        ("web[0]", ["web1"]),
        ("web[1]", ["web2"]),  # the last index
        ("web[-1]", ["web2"]),
        ("web[-2]", ["web1"]),  # the first, counted from the end
        ("web[0:0]", ["web1"]),  # the end of a range is inclusive
        ("web[0:1]", ["web1", "web2"]),
        ("web[1:]", ["web2"]),
        ("web[0:]", ["web1", "web2"]),
        ("web[2:]", []),  # an open range past the end is empty, as a slice
    ],
)
def test_subscripts_on_both_sides_of_each_end(
    inv: Inventory, pattern: str, selected: list[str]
) -> None:
    assert names(inv, pattern) == selected


@pytest.mark.parametrize("pattern", ["web[2]", "web[-3]"])
def test_an_index_one_past_either_end_is_an_error(inv: Inventory, pattern: str) -> None:
    with pytest.raises(PatternError, match="outside the 2 host"):
        select_hosts(inv, pattern)


def test_exclusion_and_intersection_apply_after_every_union(inv: Inventory) -> None:
    # Groups a glob matches come before the hosts it matches by name.
    assert names(inv, "!web:web*") == ["db1", "webcache"]
    assert names(inv, "&db:web*") == ["db1"]
    assert names(inv, "!db") == ["webcache", "web1", "web2", "api.example.com"]


def test_an_ipv6_address_is_one_term_and_a_colon_inside_brackets_does_not_split() -> None:
    assert split_pattern("::1") == ["::1"]
    assert split_pattern("web[0:1]:db") == ["web[0:1]", "db"]
    assert split_pattern("a,b:c") == ["a", "b", "c"]


def test_an_operator_needs_a_name_after_it_but_one_character_is_enough() -> None:
    assert split_pattern("all:!x") == ["all", "!x"]
    with pytest.raises(PatternError):
        split_pattern("all:!")


def test_an_ipv6_term_does_not_end_the_pattern() -> None:
    assert split_pattern("::1,web:db") == ["::1", "web", "db"]


def test_pattern_errors_quote_the_pattern_and_suggest_a_close_name(inv: Inventory) -> None:
    with pytest.raises(PatternError, match=r"^empty host pattern: name a host, a group, or 'all'$"):
        split_pattern(" ")
    with pytest.raises(PatternError, match=r"^host pattern 'web\[0:web' has an unclosed '\['$"):
        split_pattern("web[0:web")
    with pytest.raises(PatternError, match=r"^host pattern 'all:!&web': '!' needs one host"):
        split_pattern("all:!&web")
    with pytest.raises(
        PatternError, match=r"no host or group named 'wbe' in .*\(did you mean 'web'\?\)$"
    ):
        select_hosts(inv, "wbe")
    with pytest.raises(PatternError) as caught:
        select_hosts(inv, "zzzz")
    assert str(caught.value) == f"no host or group named 'zzzz' in {inv.path}"


def test_brackets_nest_when_splitting_on_colons() -> None:
    assert split_pattern("~a[[0-9]]:b") == ["~a[[0-9]]", "b"]
    assert split_pattern("~a[x]]:b") == ["~a[x]]", "b"]
    assert split_pattern("~a[[x]:b]") == ["~a[[x]:b]"]


def test_the_implicit_localhost_runs_locally_with_the_all_groups_vars(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  vars: {region: eu}\n  hosts:\n    web1:\n")
    (local,) = select_hosts(load_inventory(path), "localhost")
    assert (local.name, local.address, local.connection) == ("localhost", "localhost", "local")
    assert dict(local.vars) == {"region": "eu", "ansible_connection": "local"}
    assert local.groups == ()


def test_a_localhost_spelling_picks_the_local_host_the_inventory_has(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    web1:\n    127.0.0.1: {connection: local}\n")
    assert [h.name for h in select_hosts(load_inventory(path), "localhost")] == ["127.0.0.1"]


def test_names_that_start_with_x_are_names_not_operators(tmp_path: Path) -> None:
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    X:\n    XY:\n    web1:\n")
    inventory = load_inventory(path)
    assert [h.name for h in select_hosts(inventory, "X")] == ["X"]
    assert [h.name for h in select_hosts(inventory, "XY")] == ["XY"]
    assert [h.name for h in select_hosts(inventory, "all:!X")] == ["XY", "web1"]


def test_a_regex_keeps_its_brackets_as_a_character_class(inv: Inventory) -> None:
    assert names(inv, "~web[1]") == ["web1"]
