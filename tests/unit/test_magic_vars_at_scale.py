"""`hostvars` and `groups` at fleet scale: every host sees every host, no host holds a copy
of them all, and what one template changes stays in its own copy."""

from __future__ import annotations

import json
import tracemalloc
from types import MappingProxyType, SimpleNamespace
from typing import Any, cast

from runner.inventory.model import Group, Host, Inventory
from runner.playbook.model import Playbook
from runner.templating.templar import Templar
from runner.templating.variables import RunInfo, magic_vars

PLAYBOOK = cast(Playbook, SimpleNamespace(drill="d", component="c", rollback_type=2))
RUN = RunInfo("r1", "/tmp/r1", "op", "CHG-1", "lab")


def fleet(count: int) -> Inventory:
    hosts = {
        f"h{i:04d}": Host(
            f"h{i:04d}",
            f"10.0.{i // 250}.{i % 250 + 1}",
            "ssh",
            22,
            "drill",
            MappingProxyType({"rack": f"r{i % 7}", "weight": i, "tags": ["web", f"t{i}"]}),
            ("all", "web"),
        )
        for i in range(count)
    }
    names = tuple(hosts)
    groups = {
        "all": Group("all", (), ("web",), MappingProxyType({})),
        "web": Group("web", names, (), MappingProxyType({})),
        "ungrouped": Group("ungrouped", (), (), MappingProxyType({})),
    }
    return Inventory("fleet.yml", MappingProxyType(hosts), MappingProxyType(groups), "lab")


def test_every_host_sees_every_hosts_variables_and_every_groups_members() -> None:
    inventory = fleet(5)
    magic = magic_vars(inventory.hosts["h0003"], inventory, PLAYBOOK, RUN)
    rendered = Templar().render_text(
        "{% for h in groups['web'] %}{{ hostvars[h].rack }},{% endfor %}"
        "{{ hostvars | length }} {{ 'h0004' in hostvars }} {{ 'nope' in hostvars }}",
        magic,
    )
    assert rendered == "r0,r1,r2,r3,r4,5 True False"
    assert json.loads(Templar().render_text("{{ hostvars | to_json }}", magic)) == {
        name: {"rack": h.vars["rack"], "weight": h.vars["weight"], "tags": h.vars["tags"]}
        for name, h in inventory.hosts.items()
    }


def test_one_hosts_magic_variables_do_not_grow_with_the_fleet() -> None:
    def allocated(count: int) -> int:
        inventory = fleet(count)
        tracemalloc.start()
        try:
            magic = magic_vars(inventory.hosts["h0000"], inventory, PLAYBOOK, RUN)
            size = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert len(magic["hostvars"]) == count
        return size

    small, large = allocated(10), allocated(2000)
    # A copy per host of every host's variables would be ~2000 dicts (hundreds of KB).
    assert large < small + 16_000, (small, large)


def test_a_template_that_changes_another_hosts_variables_changes_only_its_own_copy() -> None:
    inventory = fleet(3)
    first = magic_vars(inventory.hosts["h0000"], inventory, PLAYBOOK, RUN)
    second = magic_vars(inventory.hosts["h0001"], inventory, PLAYBOOK, RUN)
    templar = Templar()
    variables: dict[str, Any] = dict(first)
    templar.render_text("{{ hostvars['h0002'].update({'rack': 'moved'}) }}", variables)
    templar.render_text("{{ groups['web'].append('intruder') }}", variables)
    assert templar.render_text("{{ hostvars['h0002'].rack }}", dict(second)) == "r2"
    assert templar.render_text("{{ groups['web'] | length }}", dict(second)) == "3"
    assert inventory.hosts["h0002"].vars["rack"] == "r2"
