"""The communication plan an inventory gives (a `notify` variable of group `all`): read
and checked like a playbook's, its errors located in the inventory's first source and at
the variable's path, word for word; and the playbook's own plan winning over it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from runner.engine.notices import _inventory_notify, rendered_notify
from runner.errors import InputError
from runner.notify.plan import NotifyPlan
from runner.playbook.model import Playbook
from runner.templating.templar import Templar


def inventory(notify: Any = None, path: str = "prod.yml,extra.yml") -> Any:
    groups = {"all": SimpleNamespace(vars={} if notify is None else {"notify": notify})}
    return SimpleNamespace(groups=groups, path=path)


def test_an_inventory_without_a_plan_gives_none() -> None:
    assert _inventory_notify(inventory()) is None
    assert _inventory_notify(SimpleNamespace(groups={}, path="prod.yml")) is None  # type: ignore[arg-type]


def test_an_inventorys_plan_is_read_like_a_playbooks() -> None:
    plan = _inventory_notify(
        inventory({"channels": {"desk": "json://127.0.0.1:9/h"}, "stakeholders": {"Ops": ["desk"]}})
    )
    assert plan == NotifyPlan(
        channels={"desk": "json://127.0.0.1:9/h"}, audience={"desk": ("Ops",)}
    )


@pytest.mark.parametrize(
    ("notify", "message"),
    [
        pytest.param(
            {"channels": {"desk": 5}},
            "prod.yml:1:1: all.vars.notify.channels.desk: 5 is not of type 'string'",
            id="schema-error-at-its-path",
        ),
        pytest.param(
            {"chanels": {}},
            "prod.yml:1:1: all.vars.notify: Additional properties are not allowed "
            "('chanels' was unexpected)",
            id="schema-error-at-the-top",
        ),
        pytest.param(
            {"channels": {"desk": "json://h"}, "stakeholders": {"Ops": ["mail"]}},
            "prod.yml:1:1: all.vars.notify.stakeholders.Ops.0: stakeholder group 'Ops' names "
            "channel 'mail', which is not under notify.channels (known: desk)",
            id="dangling-channel-at-its-path",
        ),
    ],
)
def test_a_bad_plan_in_the_inventory_is_located_word_for_word(notify: Any, message: str) -> None:
    with pytest.raises(InputError) as raised:
        _inventory_notify(inventory(notify))
    assert str(raised.value) == message


def test_the_playbooks_plan_wins_and_its_channels_are_rendered_with_its_and_extra_vars() -> None:
    own = NotifyPlan(
        channels={"desk": "json://{{ host }}:{{ port }}/h"}, audience={"desk": ("Ops",)}
    )
    playbook = Playbook(
        path="drill.yml", drill="d", rollback_type=2, vars={"host": "h1", "port": 1}, notify=own
    )
    theirs = inventory({"channels": {"other": "json://x"}})
    plan = rendered_notify(playbook, theirs, Templar(), {"port": 9000})
    assert plan is not None and plan.channels == {"desk": "json://h1:9000/h"}
    assert plan.audience == {"desk": ("Ops",)}


def test_a_channel_url_that_does_not_render_is_located_in_the_playbook() -> None:
    own = NotifyPlan(channels={"desk": "json://{{ missing }}/h"}, audience={"desk": ()})
    playbook = Playbook(path="drill.yml", drill="d", rollback_type=2, notify=own)
    with pytest.raises(InputError) as raised:
        rendered_notify(playbook, inventory(), Templar(), {})
    assert str(raised.value).startswith("drill.yml:1:1: notify.channels.desk: ")


def test_without_its_own_plan_a_playbook_uses_the_inventorys() -> None:
    playbook = Playbook(path="drill.yml", drill="d", rollback_type=2, vars={"port": 7})
    theirs = inventory({"channels": {"desk": "json://127.0.0.1:{{ port }}/h"}})
    plan = rendered_notify(playbook, theirs, Templar(), {})
    assert plan is not None and plan.channels == {"desk": "json://127.0.0.1:7/h"}
    assert rendered_notify(playbook, inventory(), Templar(), {}) is None


def test_a_plan_without_apprise_stops_the_drill_before_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    from runner.errors import TargetEnvironmentError

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "apprise" else found(name)
    )
    own = NotifyPlan(channels={"desk": "json://h"}, audience={"desk": ()})
    playbook = Playbook(path="drill.yml", drill="d", rollback_type=2, notify=own)
    with pytest.raises(TargetEnvironmentError) as raised:
        rendered_notify(playbook, inventory(), Templar(), {})
    assert str(raised.value) == "notify: needs the apprise package: pip install 'drillctl[notify]'"
