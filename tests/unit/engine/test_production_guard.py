"""What counts as production, where the mark is said to be set, and the refusals (exit 2)
that name the missing flags: `--allow-production` with `--change-id`, and
`--allow-irreversible` for a rollback_type 5 drill.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine.safety import (
    Permissions,
    ProductionMark,
    check_guards,
    check_production,
    normalized,
    production_marks,
    production_names,
)
from runner.errors import InputError
from runner.inventory import Inventory, load_inventory
from runner.playbook.loader import load_playbook
from runner.playbook.model import Playbook

INVENTORY = """\
all:
  children:
    europe:
      vars: {environment: staging}
      children:
        paris:
          vars: {environment: Production}
          hosts:
            p1: {}
            p2: {}
    lab:
      hosts:
        l1: {environment: '  prod  '}
        l2: {}
  hosts:
    s1: {environment: staging}
"""


def load(tmp_path: Path, text: str = INVENTORY) -> Inventory:
    path = tmp_path / "inv.yml"
    path.write_text(text)
    return load_inventory(str(path))


def refusal(inventory: Inventory, hosts: list[str], allowed: Permissions) -> str:
    with pytest.raises(InputError) as caught:
        check_production(inventory, [inventory.hosts[h] for h in hosts], allowed)
    return str(caught.value)


@pytest.fixture(autouse=True)
def no_extra_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRILLCTL_PRODUCTION_NAMES", raising=False)


def test_a_mark_names_the_most_specific_group_or_the_host_that_sets_it(tmp_path: Path) -> None:
    inv = load(tmp_path)
    hosts = [inv.hosts[h] for h in ("s1", "p1", "l1", "l2", "p2")]
    assert production_marks(inv, hosts) == [
        ProductionMark("p1", "group paris", "Production"),
        ProductionMark("l1", "host l1", "prod"),
        ProductionMark("p2", "group paris", "Production"),
    ]


def test_the_names_are_the_defaults_the_environment_and_the_inventorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert production_names(load(tmp_path)) == frozenset({"production", "prod"})
    monkeypatch.setenv("DRILLCTL_PRODUCTION_NAMES", " Live ,,DR  Site")
    text = "all:\n  vars: {production_names: 'Main, Critical'}\n  hosts: {h: {}}\n"
    assert production_names(load(tmp_path, text)) == frozenset(
        {"production", "prod", "live", "dr site", "main", "critical"}
    )
    text = "all:\n  vars: {production_names: [Main, 7]}\n  hosts: {h: {}}\n"
    assert production_names(load(tmp_path, text)) == frozenset(
        {"production", "prod", "live", "dr site", "main", "7"}
    )
    text = "all:\n  vars: {production_names: {a: 1}}\n  hosts: {h: {}}\n"  # neither: ignored
    assert production_names(load(tmp_path, text)) == frozenset(
        {"production", "prod", "live", "dr site"}
    )


def test_case_and_blanks_do_not_count() -> None:
    assert normalized("  Pro\tDUCTION \n") == "pro duction"
    assert normalized(7) == "7"


def test_an_inventory_wide_environment_marks_every_targeted_host(tmp_path: Path) -> None:
    text = "all:\n  vars: {environment: ' PROD  main '}\n  hosts: {h1: {}, h2: {}}\n"
    inv = load(tmp_path, text)
    hosts = [inv.hosts["h1"], inv.hosts["h2"]]
    assert production_marks(inv, hosts) == []  # 'prod main' is not a production name
    text = "all:\n  vars: {environment: ' PROD '}\n  hosts: {h1: {}, h2: {}}\n"
    inv = load(tmp_path, text)
    hosts = [inv.hosts["h1"], inv.hosts["h2"]]
    assert production_marks(inv, hosts) == [
        ProductionMark("h1", "group all", "PROD"),
        ProductionMark("h2", "group all", "PROD"),
    ]


def test_production_needs_both_flags_and_the_refusal_names_the_missing_ones(
    tmp_path: Path,
) -> None:
    inv = load(tmp_path)
    where = f"{tmp_path / 'inv.yml'}:1:1: "
    names = "(production names: prod, production)"
    assert refusal(inv, ["s1", "p1"], Permissions()) == (
        f"{where}group paris is marked environment: Production, so host p1 is production; "
        f"touching it needs --allow-production and --change-id {names}"
    )
    assert refusal(inv, ["p1", "l1", "p2"], Permissions(allow_production=True)) == (
        f"{where}group paris is marked environment: Production, so host p1 (and 2 more "
        f"host(s)) is production; touching it needs --change-id {names}"
    )
    assert refusal(inv, ["p1", "p2"], Permissions()).startswith(
        f"{where}group paris is marked environment: Production, so host p1 (and 1 more "
        "host(s)) is production;"
    )
    assert refusal(inv, ["l1"], Permissions(change_id="CHG-1")) == (
        f"{where}host l1 is marked environment: prod, so host l1 is production; touching it "
        f"needs --allow-production {names}"
    )
    check_production(inv, [inv.hosts["l1"]], Permissions(True, change_id="CHG-1"))
    check_production(inv, [inv.hosts["s1"], inv.hosts["l2"]], Permissions())


DRILL = """\
drill: d
rollback_type: {kind}
deploy:
  - shell: "true"
{rollback}"""


def playbook(tmp_path: Path, kind: int, rollback: str = "", deploy: bool = True) -> Playbook:
    path = tmp_path / "drill.yml"
    text = DRILL.format(kind=kind, rollback=rollback)
    if not deploy:
        text = "drill: d\nrollback_type: 5\nverify:\n  - shell: 'true'\n"
    path.write_text(text)
    return load_playbook(path)[0]


def test_a_point_of_no_return_needs_allow_irreversible(tmp_path: Path) -> None:
    inv = load(tmp_path)
    staging = [inv.hosts["s1"]]
    with pytest.raises(InputError) as caught:
        check_guards(playbook(tmp_path, 5), inv, Permissions(), staging)
    assert str(caught.value) == (
        f"{tmp_path / 'drill.yml'}:1:1: rollback_type 5 is a point of no return: its deploy "
        "cannot be rolled back; run it only with --allow-irreversible"
    )
    check_guards(
        playbook(tmp_path, 5),
        inv,
        Permissions(allow_irreversible=True),
        staging,
    )
    check_guards(playbook(tmp_path, 5, deploy=False), inv, Permissions(), staging)
    check_guards(
        playbook(tmp_path, 2, rollback="rollback:\n  - shell: 'true'\n"),
        inv,
        Permissions(),
        staging,
    )


def test_the_guards_look_at_every_host_unless_told_which(tmp_path: Path) -> None:
    inv = load(tmp_path)
    drill = playbook(tmp_path, 2, rollback="rollback:\n  - shell: 'true'\n")
    with pytest.raises(InputError, match="so host p1 "):
        check_guards(drill, inv, Permissions())
    check_guards(drill, inv, Permissions(), [inv.hosts["s1"]])


def test_a_groups_own_mark_is_named_even_under_a_production_inventory(tmp_path: Path) -> None:
    text = (
        "all:\n  vars: {environment: prod, production_names: [Prod  Main]}\n  children:\n"
        "    paris:\n      vars: {environment: ' Prod   Main '}\n      hosts: {p1: {}}\n"
        "  hosts: {s1: {}}\n"
    )
    inv = load(tmp_path, text)
    assert production_marks(inv, [inv.hosts["p1"], inv.hosts["s1"]]) == [
        ProductionMark("p1", "group paris", "Prod Main"),
        ProductionMark("s1", "group all", "prod"),
    ]


@pytest.mark.parametrize("environment", ["", "environment: staging, "])
def test_an_inventory_without_a_production_environment_marks_nothing(
    tmp_path: Path, environment: str
) -> None:
    # Even when 'None' is one of the production names.
    text = f"all:\n  vars: {{{environment}production_names: [None]}}\n  hosts: {{h: {{}}}}\n"
    inv = load(tmp_path, text)
    assert "none" in production_names(inv)
    assert production_marks(inv, [inv.hosts["h"]]) == []
