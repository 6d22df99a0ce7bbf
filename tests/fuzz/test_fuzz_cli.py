"""Fuzzing the command line: mutated playbooks and inventories through `lint`, `plan`,
`run --check` and `inventory --list` exit 0, 1, 2 or 3, with located findings for bad input;
never a traceback, never a hang.

Most examples run in-process through `runner.cli.main` (a thousand subprocesses would take
minutes); a small sample runs `python -m runner` for real, as a user would. Examples are
derandomised, so CI runs the same campaign every time; DRILLCTL_FUZZ_EXAMPLES runs a longer
one (see docs/fuzzing.md).
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from runner.cli import main
from tests.conftest import child_env, drillctl_argv
from tests.fuzz.playbook_strategies import playbooks, valid_playbooks
from tests.fuzz.strategies import REPO, dump, fuzz_settings, mutated, steer
from tests.fuzz.test_fuzz_inventories import yaml_inventories

PLAYBOOKS = [p.read_text(encoding="utf-8") for p in sorted(REPO.glob("playbooks/*.yml"))]
INVENTORIES = [
    (p.read_text(encoding="utf-8"), p.suffix)
    for p in [
        *sorted(REPO.glob("inventories/*.yml")),
        REPO / "inventories" / "examples" / "hosts.yml",
        REPO / "inventories" / "examples" / "hosts.ini",
    ]
]
COMMANDS = ("lint", "plan", "run --check", "inventory --list")
EXIT_CODES = {0, 1, 2, 3}
# A located finding, as every bad-input message is printed: path:line:col: message.
LOCATED = re.compile(r"^.+:\d+:\d+: \S", re.MULTILINE)
# One example may take this long before it counts as a hang (a template may take 2 s).
HANG_S = 30


@dataclass(frozen=True)
class Case:
    command: str
    playbook: str
    inventory: str
    inventory_suffix: str


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A command, and a playbook and an inventory of the repository, one or both mutated."""
    command = draw(st.sampled_from(COMMANDS))
    playbook = draw(st.sampled_from(PLAYBOOKS))
    inventory, suffix = draw(st.sampled_from(INVENTORIES))
    which = draw(st.sampled_from(["playbook", "inventory", "both", "generated"]))
    if which == "generated":  # from the grammar rather than from the repository's files
        playbook = dump(draw(st.one_of(playbooks(), valid_playbooks())))
        if draw(st.booleans()):
            inventory, suffix = dump(draw(yaml_inventories())), ".yml"
        return Case(command, playbook, inventory, suffix)
    if command == "inventory --list" or which != "playbook":
        inventory = draw(mutated(inventory))
    if command != "inventory --list" and which != "inventory":
        playbook = draw(mutated(playbook))
    return Case(command, playbook, inventory, suffix)


def argv(case: Case, workdir: Path) -> list[str]:
    """Write the case's files into `workdir`; the command line that reads them."""
    playbook = workdir / "drill.yml"
    inventory = workdir / f"inventory{case.inventory_suffix}"
    playbook.write_text(steer(case.playbook), encoding="utf-8", errors="surrogatepass")
    inventory.write_text(steer(case.inventory), encoding="utf-8", errors="surrogatepass")
    command = case.command.split()
    if command[0] == "inventory":
        return [*command, "-i", str(inventory)]
    if command[0] == "lint":
        return ["lint", str(playbook), "-i", str(inventory), "-e", "lab_port=1"]
    return [*command[:1], str(playbook), "-i", str(inventory), "-e", "lab_port=1", *command[1:]]


class Hang(BaseException):
    """An example ran past HANG_S (a BaseException, so no `except Exception` swallows it)."""


@contextlib.contextmanager
def hang_guard(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer within {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        hang_guard(HANG_S),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse refusing the command line
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def assert_contract(case: Case, code: int, out: str, err: str) -> None:
    assert "Traceback" not in out + err, err
    assert code in EXIT_CODES, (code, out, err)
    if code == 2:
        assert LOCATED.search(err) or LOCATED.search(out), f"bad input without a location: {err}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-cli")
    # Vars files beside the inventory, so their lookups are fuzzed too.
    for folder in ("group_vars", "host_vars"):
        shutil.copytree(REPO / "inventories" / "examples" / folder, path / folder)
    return path


# Inputs the campaign found that broke the contract once (see docs/fuzzing.md).
URL_DRILL = (
    "drill: d\nrollback_type: 2\nhosts: gateway\n"
    'deploy:\n  - http: {url: "http://u:p\'w/x@127.0.0.1:1/"}\n'
)
LOCAL = (REPO / "inventories" / "local.yml").read_text(encoding="utf-8")
FOUND = [
    Case("inventory --list", "", "all:\n  hosts:\n    " + "h" * 300 + ":\n", ".yml"),
    Case("inventory --list", "", "[gateway]\n" + "h" * 300 + "\n", ".ini"),
    Case("plan", URL_DRILL, LOCAL, ".yml"),
    Case("lint", URL_DRILL, LOCAL, ".yml"),
]


@settings(fuzz_settings(1000), derandomize=True, deadline=None)
@given(case=cases())
@example(case=FOUND[0])
@example(case=FOUND[1])
@example(case=FOUND[2])
@example(case=FOUND[3])
def test_the_cli_answers_mutated_inputs_with_an_exit_code_never_a_traceback(
    case: Case, workdir: Path
) -> None:
    code, out, err = run_in_process(argv(case, workdir))
    assert_contract(case, code, out, err)


@settings(fuzz_settings(12), derandomize=True, deadline=None)
@given(case=cases())
def test_the_cli_as_a_process_answers_mutated_inputs_without_a_traceback(
    case: Case, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("fuzz-cli-process")
    proc = subprocess.run(
        drillctl_argv(*argv(case, workdir)),
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=HANG_S * 2,
        cwd=workdir,
    )
    assert_contract(case, proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize(
    "case", FOUND, ids=["long-yaml-host", "long-ini-host", "plan-url", "lint-url"]
)
def test_inputs_the_campaign_found_are_located_errors(case: Case, workdir: Path) -> None:
    code, out, err = run_in_process(argv(case, workdir))
    assert code == 2, (out, err)
    assert_contract(case, code, out, err)
