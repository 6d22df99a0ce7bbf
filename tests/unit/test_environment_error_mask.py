"""An environment error (exit 3) met while a drill runs is printed with its secrets masked:
the error can quote what it was given (a URL, a command, a host's answer)."""

from __future__ import annotations

from pathlib import Path

import pytest

import runner.run.launch
from runner.cli import main
from runner.engine.last_run import UnrecoveredFaults
from runner.errors import ExitCode, TargetEnvironmentError

SECRET = "Env-Err-Secret-93"
PLAYBOOK = """\
drill: environment error
rollback_type: 2
secrets: [token]
deploy:
  - name: change
    command: "true"
"""


@pytest.mark.parametrize("kind", [TargetEnvironmentError, UnrecoveredFaults])
def test_the_error_is_printed_masked_with_its_exit_code(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: type[TargetEnvironmentError],
) -> None:
    raised: list[TargetEnvironmentError] = []

    def failing_execute(*args: object, **kwargs: object) -> None:
        raised.append(kind(f"engine at tcp://ops:{SECRET}@127.0.0.1:1 is not reachable"))
        raise raised[0]

    monkeypatch.setattr(runner.run.launch, "execute", failing_execute)
    playbook = tmp_path / "drill.yml"
    playbook.write_text(PLAYBOOK)
    code = main(["run", str(playbook), "-e", f"token={SECRET}", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == ExitCode.ENVIRONMENT
    assert "engine at tcp://ops:" in err and "is not reachable" in err, err
    assert SECRET not in err, err
    assert raised and isinstance(raised[0], kind)  # the same error, its kind kept
