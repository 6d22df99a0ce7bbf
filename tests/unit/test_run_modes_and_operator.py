"""Which listing mode a `run` asks for, and who the journal names as its operator."""

from __future__ import annotations

import argparse
import getpass

import pytest

from runner.run import prepare
from runner.run.listing import listing_mode


@pytest.mark.parametrize(
    ("flags", "mode"),
    [
        (
            {"list_hosts": False, "list_tasks": True, "list_tags": False, "syntax_check": False},
            "list_tasks",
        ),
        ({"syntax_check": True}, "syntax_check"),
        ({"list_tags": True}, "list_tags"),
        ({}, ""),
        ({"list_hosts": False, "list_tasks": False, "list_tags": False, "syntax_check": False}, ""),
    ],
)
def test_the_listing_mode_is_the_flag_set_and_a_missing_flag_is_not_set(
    flags: dict[str, bool], mode: str
) -> None:
    assert listing_mode(argparse.Namespace(**flags)) == mode


@pytest.mark.parametrize("error", [KeyError("uid 4242"), OSError("no login name")])
def test_an_operator_with_no_user_name_is_recorded_as_unknown(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def no_user() -> str:
        raise error

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert prepare._operator() == "unknown"


def test_the_operator_is_the_login_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "alice")
    assert prepare._operator() == "alice"
