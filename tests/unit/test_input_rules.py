"""Bad input stays bad input: undeclared environment variables, URLs that cannot be requested
and host names too long for a file name are located errors (exit 2), never run-time crashes."""

from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path

import pytest

from runner.cli import main
from runner.errors import Diagnostic, InputError
from runner.inventory import load_inventory
from runner.lint.linter import lint_file


def lint(tmp_path: Path, text: str) -> list[Diagnostic]:
    path = tmp_path / "drill.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return lint_file(path)


def findings(found: list[Diagnostic], rule: str) -> list[tuple[int, int, str]]:
    return [(d.line, d.col, d.message) for d in found if d.rule == rule]


def cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


ENV_DRILL = """\
drill: env
rollback_type: 2
{declare}
vars:
  region: "{{{{ env('REGION', secret=false) }}}}"
deploy:
  - shell: "deploy --region {{{{ region | quote }}}} --token {{{{ env('TOKEN') | quote }}}}"
rollback:
  - command: "true"
"""


def test_reading_an_undeclared_environment_variable_is_a_located_error(tmp_path: Path) -> None:
    found = lint(tmp_path, ENV_DRILL.format(declare="env: [REGION]"))
    assert findings(found, "undeclared-env") == [
        (
            7,
            12,
            "environment variable 'TOKEN' is read but not declared; "
            "add it to the playbook's `env:` list",
        )
    ]
    assert all(d.severity == "error" for d in found if d.rule == "undeclared-env")


def test_declared_environment_variables_are_fine(tmp_path: Path) -> None:
    found = lint(tmp_path, ENV_DRILL.format(declare="env: [REGION, TOKEN]"))
    assert findings(found, "undeclared-env") == []


def test_an_env_name_that_is_not_written_out_cannot_be_declared(tmp_path: Path) -> None:
    text = ENV_DRILL.format(declare="env: [REGION, TOKEN]").replace("env('REGION'", "env(region")
    (finding,) = findings(lint(tmp_path, text), "undeclared-env")
    assert finding[:2] == (5, 11) and "written out" in finding[2]


def test_the_env_declaration_is_checked_by_the_schema(tmp_path: Path) -> None:
    found = lint(tmp_path, ENV_DRILL.format(declare="env: [REGION, 'not a name']"))
    assert any(d.line == 3 and d.rule == "" for d in found), [str(d) for d in found]


URL_DRILL = """\
drill: urls
rollback_type: 2
vars:
  base: "http://127.0.0.1:8080"
deploy:
  - http: {url: "URL"}
rollback:
  - command: "true"
"""


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/health",
        "http://127.0.0.1:port/health",
        "htp://{{ base }}/health",
        "127.0.0.1:8080/health",
        "http://[::1/health",
        "http://bad host/",
        "http://user:pa/ss@127.0.0.1/",
    ],
)
def test_a_url_that_cannot_be_requested_is_a_located_error(tmp_path: Path, url: str) -> None:
    (finding,) = findings(lint(tmp_path, URL_DRILL.replace("URL", url)), "invalid-url")
    assert finding[:2] == (6, 17)
    assert "pa/ss" not in finding[2]  # a password is not quoted back


@pytest.mark.parametrize(
    "url",
    ["{{ base }}/health", "http://{{ host.address }}:8080/", "https://example.com/x?a=b@c"],
)
def test_good_and_templated_urls_are_fine(tmp_path: Path, url: str) -> None:
    assert findings(lint(tmp_path, URL_DRILL.replace("URL", url)), "invalid-url") == []


def test_probe_and_wait_for_urls_are_checked(tmp_path: Path) -> None:
    text = """\
    drill: urls
    rollback_type: 2
    probes:
      health:
        http: {url: "http://127.0.0.1:0/"}
      ledger:
        data:
          write: {http: {url: "http://a b/"}}
          read: {http: {url: "http://127.0.0.1:8080/ledger"}}
    deploy:
      - wait_for: {http: "http://[::zz]/"}
      - wait_for: {http: {url: "http://127.0.0.1:70000/"}}
    rollback:
      - command: "true"
    """
    lines = [line for line, _, _ in findings(lint(tmp_path, text), "invalid-url")]
    assert lines == [5, 8, 11, 12]


def test_a_bad_url_given_at_run_time_stops_the_plan_not_the_run(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(URL_DRILL.replace("URL", "{{ base }}/x"), encoding="utf-8")
    code, err = cli("run", str(playbook), "-e", "base=http://127.0.0.1:99999", "--check")
    assert code == 2 and f"{playbook}:6:" in err and "Traceback" not in err, err


LONG = "h" * 300


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("inv.yml", f"all:\n  hosts:\n    {LONG}:\n      connection: local\n"),
        ("inv.ini", f"[gateway]\n{LONG} connection=local\n"),
        ("inv.yml", f"all:\n  children:\n    {'g' * 300}:\n      hosts:\n        h1:\n"),
        ("inv.ini", f"[{'h' * 290}[1:2]]\n"),
    ],
)
def test_a_name_too_long_for_a_file_name_is_a_located_error(
    tmp_path: Path, name: str, text: str
) -> None:
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "group_vars").mkdir()
    inventory = tmp_path / name
    inventory.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        load_inventory(inventory)
    assert all(d.line >= 1 and d.col >= 1 for d in raised.value.diagnostics)
    code, err = cli("inventory", "-i", str(inventory), "--list")
    assert code == 2 and f"{inventory}:" in err and "Traceback" not in err, err


def test_a_name_of_250_bytes_is_still_fine(tmp_path: Path) -> None:
    (tmp_path / "host_vars").mkdir()
    name = "h" * 250
    (tmp_path / "host_vars" / f"{name}.yml").write_text("x: 1\n", encoding="utf-8")
    inventory = tmp_path / "inv.yml"
    inventory.write_text(f"all:\n  hosts:\n    {name}:\n", encoding="utf-8")
    host = load_inventory(inventory).hosts[name]
    assert host.vars["x"] == 1


def test_a_probe_url_that_cannot_be_requested_stops_the_plan(tmp_path: Path) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: probe\nrollback_type: 2\nprobes:\n  health:\n"
        '    http: {url: "{{ base }}/health"}\nrollback:\n  - command: "true"\n',
        encoding="utf-8",
    )
    for command in (["plan"], ["run", "--check"]):
        code, err = cli(command[0], str(playbook), "-e", "base=http://u:p/w@h", *command[1:])
        assert code == 2 and f"{playbook}:5:" in err and "probe health on localhost" in err, err
        assert "p/w" not in err and "Traceback" not in err
    code, err = cli("plan", str(playbook), "-e", "base=http://127.0.0.1:8080")
    assert code == 0, err
