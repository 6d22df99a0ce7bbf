"""Where actions keep a run's snapshots and backups on a target, and what is refused."""

from __future__ import annotations

import pytest

from runner.actions.state import DEFAULT_ROOT, host_state_dir, run_dir_on_target, state_root


def test_state_lives_per_run_and_per_host_under_the_default_root() -> None:
    variables = {"run_id": "20261121T101500Z-config-rollback", "inventory_hostname": "web1"}
    assert state_root(variables) == DEFAULT_ROOT == "/var/tmp/drillctl"
    assert host_state_dir(variables) == "/var/tmp/drillctl/20261121T101500Z-config-rollback/web1"


def test_names_from_variables_cannot_leave_the_root() -> None:
    variables = {"run_id": "../../etc", "inventory_hostname": "../..", "drillctl_state_dir": "/s"}
    path = host_state_dir(variables)
    assert path.startswith("/s/") and ".." not in path.split("/")
    assert host_state_dir({**variables, "inventory_hostname": "a b/c"}).endswith("/a_b_c")


def test_without_a_run_each_call_gets_a_directory_of_its_own() -> None:
    assert run_dir_on_target({}) != run_dir_on_target({})


@pytest.mark.parametrize("root", ["relative/dir", "/", "/tmp/x\n/y"])
def test_a_state_root_that_is_not_an_absolute_directory_is_refused(root: str) -> None:
    with pytest.raises(ValueError, match="drillctl_state_dir"):
        state_root({"drillctl_state_dir": root})
