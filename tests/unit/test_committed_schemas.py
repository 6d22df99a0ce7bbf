"""The schemas committed under docs/schema/ are the ones drillctl prints."""

from __future__ import annotations

import json

import pytest

from runner.cli import main
from tests.conftest import REPO


@pytest.mark.parametrize("kind", ["playbook", "inventory", "result"])
def test_committed_schema_matches_drillctl_schema_output(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", kind]) == 0
    printed = json.loads(capsys.readouterr().out)
    committed = json.loads((REPO / "docs" / "schema" / f"{kind}.schema.json").read_text())
    assert printed == committed, (
        f"regenerate: drillctl schema {kind} > docs/schema/{kind}.schema.json"
    )
