"""The controller's open-file limit: raised as far as it goes, and a run it cannot carry
refused before anything starts, with the numbers (exit 3, never hosts lost half-way).

The process's real limits are not touched: `resource` is replaced by a fake for each test.
"""

from __future__ import annotations

import resource
from typing import Any

import pytest

from runner.engine import resources
from runner.engine.resources import ensure_descriptors, raise_open_file_limit
from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host

INF = resource.RLIM_INFINITY


class FakeLimits:
    """getrlimit/setrlimit over one (soft, hard) pair; `refuse` makes setrlimit fail."""

    def __init__(self, soft: int, hard: int, refuse: type[Exception] | None = None) -> None:
        self.limits = (soft, hard)
        self.refuse = refuse
        self.calls: list[tuple[int, tuple[int, int]]] = []

    def getrlimit(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_NOFILE
        return self.limits

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        self.calls.append((which, limits))
        if self.refuse is not None:
            raise self.refuse("not permitted")
        self.limits = limits


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(soft: int, hard: int, refuse: type[Exception] | None = None) -> FakeLimits:
        fake = FakeLimits(soft, hard, refuse)
        monkeypatch.setattr(resources.resource, "getrlimit", fake.getrlimit)
        monkeypatch.setattr(resources.resource, "setrlimit", fake.setrlimit)
        return fake

    return install


def local(n: int) -> list[Host]:
    return [Host(f"l{i}", "127.0.0.1", "local", None, None, {}, ()) for i in range(n)]


def test_the_soft_limit_is_raised_to_the_hard_one(limits: Any) -> None:
    fake = limits(1024, 4096)
    assert raise_open_file_limit() == (4096, 4096)
    assert fake.calls == [(resource.RLIMIT_NOFILE, (4096, 4096))]


def test_without_a_hard_limit_the_soft_one_goes_to_a_million(limits: Any) -> None:
    fake = limits(1024, INF)
    assert raise_open_file_limit() == (1 << 20, INF)
    assert fake.calls == [(resource.RLIMIT_NOFILE, (1 << 20, INF))]
    # A soft limit already above that is kept.
    fake = limits(3 << 20, INF)
    assert raise_open_file_limit() == (3 << 20, INF)


def test_a_limit_that_cannot_be_raised_stays_as_it_was(limits: Any) -> None:
    limits(1024, 4096, refuse=ValueError)
    assert raise_open_file_limit() == (1024, 4096)
    limits(1024, INF, refuse=OSError)
    assert raise_open_file_limit() == (1024, INF)


def test_a_soft_limit_at_the_hard_one_stays(limits: Any) -> None:
    limits(4096, 4096)
    assert raise_open_file_limit() == (4096, 4096)


def test_a_run_that_fits_the_limit_exactly_is_allowed(limits: Any) -> None:
    # 64 base + (17 forks + 2 probes) x 8 = 216.
    limits(216, 216)
    need = ensure_descriptors(local(40), forks=17, probes=2)
    assert need.total == 216 and need.in_flight == 19


def test_a_run_over_the_limit_is_refused_with_its_arithmetic(limits: Any) -> None:
    limits(200, 200)
    with pytest.raises(TargetEnvironmentError) as caught:
        ensure_descriptors(local(40), forks=16, probes=2)
    assert str(caught.value) == (
        "this run needs up to 208 open files (64 base + 18 commands in flight x 8), but the "
        "controller allows 200 (hard limit 200): raise it (ulimit -n 208, or LimitNOFILE= "
        "for a service) or run on fewer hosts (--limit)"
    )


def test_a_refusal_says_when_the_hard_limit_is_unlimited(limits: Any) -> None:
    limits(100, INF, refuse=OSError)
    with pytest.raises(TargetEnvironmentError) as caught:
        ensure_descriptors(local(10), forks=10)
    assert "but the controller allows 100 (hard limit unlimited): raise it (ulimit -n 144," in (
        str(caught.value)
    )


def test_every_jump_host_counts_and_one_fork_is_one_command_in_flight() -> None:
    jumped = [
        Host(f"j{i}", "10.0.0.1", "ssh", None, None, {"proxy_jump": "bastion"}, ())
        for i in range(3)
    ]
    need = resources.descriptors_needed(jumped, forks=1)
    assert (need.ssh_hosts, need.jumps, need.in_flight) == (3, 3, 1)
    assert resources.descriptors_needed([], forks=0).in_flight == 1
