"""Ansible host patterns against a small fleet (tests/fixtures/inventory/fleet.yml).

File order: gw1, gw2, db1, db2, web01, web02. Groups: gateway (gw1, gw2), db (db1, db2),
staging (gw2, db2), web (web01, web02), trading (children gateway, db).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.inventory import Inventory, PatternError, load_inventory
from runner.inventory.patterns import select_hosts

FLEET = Path(__file__).resolve().parents[1] / "fixtures" / "inventory" / "fleet.yml"
EVERYONE = ["gw1", "gw2", "db1", "db2", "web01", "web02"]


@pytest.fixture(scope="module")
def fleet() -> Inventory:
    return load_inventory(FLEET)


def names(inv: Inventory, pattern: str) -> list[str]:
    return [h.name for h in select_hosts(inv, pattern)]


def test_all_and_star_select_every_host_in_file_order(fleet: Inventory) -> None:
    assert names(fleet, "all") == EVERYONE
    assert names(fleet, "*") == EVERYONE


def test_a_host_name_selects_that_host(fleet: Inventory) -> None:
    assert names(fleet, "db2") == ["db2"]


def test_a_group_name_selects_its_hosts_and_its_child_groups_hosts(fleet: Inventory) -> None:
    assert names(fleet, "gateway") == ["gw1", "gw2"]
    assert names(fleet, "trading") == ["gw1", "gw2", "db1", "db2"]


def test_a_glob_matches_host_names_and_group_names(fleet: Inventory) -> None:
    assert names(fleet, "web0*") == ["web01", "web02"]
    assert names(fleet, "gate*") == ["gw1", "gw2"]  # the group `gateway`
    assert names(fleet, "db?") == ["db1", "db2"]


def test_a_regex_after_tilde_matches_from_the_start_of_the_name(fleet: Inventory) -> None:
    assert names(fleet, "~(gw|db)1") == ["gw1", "db1"]
    assert names(fleet, "~w") == ["web01", "web02"]  # not gw1/gw2: anchored at the start


def test_union_with_colon_and_with_comma_are_the_same(fleet: Inventory) -> None:
    assert names(fleet, "web:db1") == ["web01", "web02", "db1"]
    assert names(fleet, "web,db1") == names(fleet, "web:db1")
    assert names(fleet, " web , db1 ") == names(fleet, "web:db1")


def test_intersection_keeps_hosts_in_both(fleet: Inventory) -> None:
    assert names(fleet, "trading:&staging") == ["gw2", "db2"]
    assert names(fleet, "gateway:&staging:&db") == []


def test_exclusion_removes_hosts(fleet: Inventory) -> None:
    assert names(fleet, "trading:!db") == ["gw1", "gw2"]
    assert names(fleet, "!staging") == ["gw1", "db1", "web01", "web02"]  # starts from all


def test_unions_apply_first_then_intersections_then_exclusions(fleet: Inventory) -> None:
    # Written backwards on purpose: the order of evaluation does not depend on it.
    assert names(fleet, "!gw2:&staging:gateway:db") == ["db2"]
    assert names(fleet, "gateway:!gw1:db") == ["gw2", "db1", "db2"]


def test_union_follows_the_terms_order_without_duplicates_as_ansible(fleet: Inventory) -> None:
    # Ansible: each union term's hosts in turn, a host once (where it first appeared).
    assert names(fleet, "web:db:gateway:gw1:trading") == [
        "web01",
        "web02",
        "db1",
        "db2",
        "gw1",
        "gw2",
    ]
    assert names(fleet, "all") == EVERYONE  # `all` is the file order


def test_a_name_that_matches_nothing_is_an_error_with_a_suggestion(fleet: Inventory) -> None:
    with pytest.raises(PatternError) as info:
        select_hosts(fleet, "gatway")
    assert (
        str(info.value) == f"no host or group named 'gatway' in {FLEET} (did you mean 'gateway'?)"
    )


def test_an_unknown_name_inside_a_combined_pattern_is_an_error_too(fleet: Inventory) -> None:
    with pytest.raises(PatternError, match="no host or group named 'dbb'"):
        select_hosts(fleet, "gateway:!dbb")


def test_a_glob_or_regex_that_matches_nothing_selects_nothing(fleet: Inventory) -> None:
    assert names(fleet, "cache*") == []
    assert names(fleet, "~cache") == []


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty host pattern"),
        ("  ", "empty host pattern"),
        ("gateway::db", "has an empty term"),
        ("gateway,", "has an empty term"),
        ("gateway:&", "'&' needs one host or group name after it"),
        ("gateway:!&db", "'!' needs one host or group name after it"),
        ("~(unclosed", "invalid regular expression"),
        ("web[0", "unclosed '['"),
    ],
)
def test_malformed_patterns_are_errors(fleet: Inventory, pattern: str, message: str) -> None:
    with pytest.raises(PatternError, match=message.replace("[", r"\[").replace("(", r"\(")):
        select_hosts(fleet, pattern)


def test_pattern_errors_are_value_errors() -> None:
    assert issubclass(PatternError, ValueError)


def test_localhost_not_in_the_inventory_is_the_implicit_local_host(fleet: Inventory) -> None:
    selected = select_hosts(fleet, "localhost:gw1")

    assert [h.name for h in selected] == ["localhost", "gw1"]
    assert selected[0].connection == "local"
    assert names(fleet, "all") == EVERYONE  # `all` never includes the implicit localhost


def test_subscripts_pick_from_a_group_in_its_order(fleet: Inventory) -> None:
    assert names(fleet, "trading[0]") == ["gw1"]
    assert names(fleet, "trading[-1]") == ["db2"]
    assert names(fleet, "trading[1:2]") == ["gw2", "db1"]
    assert names(fleet, "trading[2:]") == ["db1", "db2"]
    assert names(fleet, "gateway[0]:web[1]") == ["gw1", "web02"]


def test_a_subscript_past_the_end_is_an_error_naming_the_count(fleet: Inventory) -> None:
    with pytest.raises(PatternError, match="outside the 2 host"):
        select_hosts(fleet, "gateway[2]")
    with pytest.raises(PatternError, match="outside the 2 host"):
        select_hosts(fleet, "gateway[-3]")
