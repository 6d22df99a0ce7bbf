"""Variables behind a mapping, and the stand-in `plan` shows for a value known only at run
time (a registered result): what it renders as, and what the sandbox may learn from it."""

from __future__ import annotations

from typing import Any

import pytest

from runner.templating.templar import Templar
from runner.templating.variables import Deferred, resolve_host_vars
from tests.unit.test_variables import GW1


def test_a_variable_used_only_inside_a_mapping_is_resolved_first() -> None:
    layer: dict[str, Any] = {
        "svc": {"url": "{{ base }}/health", "name": "web"},
        "base": "http://{{ ip }}",
        "ip": "10.0.0.9",
    }
    result = resolve_host_vars(Templar(), GW1, [layer], {})
    assert result["svc"] == {"url": "http://10.0.0.9/health", "name": "web"}


def _shown(template: str) -> str:
    return str(Templar().render(template, {"result": Deferred("result")}))


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{{ result }}", "<result>"),
        ("{{ result.stdout }}", "<result.stdout>"),
        ("{{ result.stdout.strip() }}", "<result.stdout.strip()>"),
        ("{{ result['rc'] }}", "<result['rc']>"),
        ("{% for x in result %}{{ x }}{% endfor %}none", "none"),
    ],
)
def test_a_run_time_value_renders_as_the_expression_that_reads_it(
    template: str, shown: str
) -> None:
    assert _shown(template) == shown


def test_a_run_time_value_has_no_private_or_sandbox_attributes() -> None:
    value = Deferred("result")
    for name in ("_label_copy", "__html__", "unsafe_callable", "alters_data"):
        assert not hasattr(value, name), name
    assert str(value.stdout) == "<result.stdout>"
    assert str(value()) == "<result()>"
    assert str(value["k"]) == "<result['k']>"
    assert list(value) == []
