"""Loading and linting playbooks: every problem found at once, each at its line:col."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from runner.cli import main
from runner.errors import Diagnostic, InputError
from runner.lint.linter import UNDEFINED, lint_file
from runner.playbook.loader import analyse, load_playbook
from runner.yamlpos import load_yaml

REPO = Path(__file__).resolve().parents[2]

HEAD = "drill: smoke\nrollback_type: 2\n"


def write(tmp_path: Path, text: str, name: str = "drill.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_errors(text: str) -> list[Diagnostic]:
    with pytest.raises(InputError) as caught:
        load_playbook("drill.yml", textwrap.dedent(text))
    return caught.value.diagnostics


def only_error(text: str) -> Diagnostic:
    diags = load_errors(text)
    assert len(diags) == 1, [str(d) for d in diags]
    return diags[0]


def located(diags: list[Diagnostic]) -> list[tuple[int, int]]:
    return [(d.line, d.col) for d in diags]


# --- (a) lint: four kinds of problem in one file ----------------------------------------

FOUR_PROBLEMS = """\
drill: four problems
rollback_type: 2
hosts: all
hosts: gateway
verify:
  - name: typo in the action
    comand: echo hi
  - name: not a number
    command: echo retry
    retries: many
  - name: uses an unknown variable
    command: "echo {{ undefined_thing }}"
"""


def test_lint_reports_every_problem_of_a_file_each_at_its_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, FOUR_PROBLEMS)
    findings = lint_file(path)
    assert located(findings) == [(4, 1), (7, 5), (10, 14), (12, 14)]
    duplicate, unknown, wrong_type, undefined = findings
    assert all(d.path == str(path) for d in findings)
    assert duplicate.message == "duplicate key 'hosts' (first defined at line 3, column 1)"
    assert unknown.message == "unknown action or step keyword 'comand' (did you mean 'command'?)"
    assert wrong_type.message == "verify.1.retries: expected a whole number, got the string 'many'"
    assert undefined.rule == UNDEFINED
    assert "'undefined_thing'" in undefined.message
    assert "-i INVENTORY" in undefined.message


def test_load_playbook_reports_the_same_problems_except_the_lint_rules() -> None:
    diags = load_errors(FOUR_PROBLEMS)
    assert located(diags) == [(4, 1), (7, 5), (10, 14)]


def test_lint_suggests_a_close_variable_name(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + 'vars:\n  port: 80\nverify:\n  - command: "echo {{ prot }}"\n')
    (finding,) = lint_file(path)
    assert (finding.line, finding.col) == (6, 14)
    assert "(did you mean 'port'?)" in finding.message


def test_lint_knows_variables_given_with_e(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + 'verify:\n  - command: "echo {{ release }}"\n')
    assert lint_file(path, extra_vars=["release"]) == []


def test_lint_checks_bare_expressions_in_when(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "verify:\n  - command: echo\n    when: not_defined_anywhere\n")
    (finding,) = lint_file(path)
    assert (finding.line, finding.col, finding.rule) == (5, 11, UNDEFINED)


def test_lint_of_a_file_that_is_not_yaml_reports_the_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "drill: [x\n")
    (finding,) = lint_file(path)
    assert (finding.line, finding.col) == (1, 8)  # the '[' never closed, not the end of file
    assert finding.message.startswith("invalid YAML: this '[' is never closed")


# --- (b) a valid playbook -------------------------------------------------------------

VALID = """\
drill: every feature, used correctly
description: what the linter and loader accept
component: gateway
rollback_type: 1
objectives: {rto: 90s, rpo: 0s}
hosts: all
rollback_when: failure
secrets: [api_token]
vars:
  base_url: "http://{{ host.address }}:8080"
  health_url: "{{ base_url }}/health"
probes:
  availability:
    http: {url: "{{ health_url }}", timeout: 2s}
    every: 500ms
  ledger:
    data:
      write: {http: {url: "{{ base_url }}/ledger", json: {seq: "{{ seq }}"}}}
      read: {http: {url: "{{ base_url }}/ledger"}, format: json, timeout: 10s}
triggers:
  - step_failed
  - {probe: availability, consecutive_failures: 3}
decision: {manual: true, timeout: 60s}  # detection + decision fit the 90 s RTO
prepare:
  - name: remember the version
    command: cat /etc/version
    register: before
deploy:
  - name: deploy with the token
    shell: "deploy --token {{ api_token | quote }} --from {{ before.stdout | quote }}"
    when: before.rc == 0
    retries: 2
    delay: 1s
    timeout: 5m
inject:
  - name: kill each worker
    command: "kill {{ item }}"
    loop: [1, 2]
    ignore_errors: true
    tags: [chaos]
rollback: auto
verify:
  - name: healthy again
    http: {url: "{{ health_url }}"}
    register: health
    until: result.status == 200
    retries: 5
  - name: status is ok
    assert:
      that: health.status == 200
cleanup:
  - pause: 1s
"""


def test_a_valid_playbook_has_no_findings(tmp_path: Path) -> None:
    assert lint_file(write(tmp_path, VALID)) == []


def test_a_valid_playbook_loads_into_the_model() -> None:
    playbook, doc = load_playbook("drill.yml", VALID)
    assert playbook.drill == "every feature, used correctly"
    assert playbook.rollback_type == 1
    assert playbook.rollback_auto is True
    assert playbook.secrets == ("api_token",)
    assert (playbook.objectives.rto_s, playbook.objectives.rpo_s) == (90.0, 0.0)
    assert (playbook.decision.manual, playbook.decision.timeout_s) == (True, 60.0)
    (deploy,) = playbook.phases["deploy"]
    assert (deploy.action, deploy.retries, deploy.delay_s, deploy.timeout_s) == (
        "shell",
        2,
        1.0,
        300.0,
    )
    assert deploy.when == ("before.rc == 0",)
    assert (deploy.location.line, deploy.location.col) == (29, 5)
    (inject,) = playbook.phases["inject"]
    assert inject.tags == ("chaos",)
    assert inject.ignore_errors is True
    assert doc.value["drill"] == playbook.drill


def test_the_quickstart_playbook_lints_clean_against_the_local_inventory() -> None:
    from runner.inventory import load_inventory

    inventory = load_inventory(str(REPO / "inventories" / "local.yml"))
    assert lint_file(REPO / "playbooks" / "quickstart.yml", inventory=inventory) == []


# --- (c) each error path --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "got"),
    [
        ("- a\n- b\n", "a list"),
        ("just text\n", "a str"),
        ("", "an empty file"),
        ("# nothing\n", "an empty file"),
    ],
)
def test_a_playbook_that_is_not_a_mapping_is_refused(text: str, got: str) -> None:
    d = only_error(text)
    assert (d.line, d.col) == (1, 1)
    assert d.message == f"a playbook is a mapping with `drill:` and phases, got {got}"


def test_analyse_returns_no_playbook_for_a_non_mapping() -> None:
    playbook, diags = analyse(load_yaml("drill.yml", "[1]\n"))
    assert playbook is None
    assert len(diags) == 1


def test_a_missing_drill_name_is_reported() -> None:
    d = only_error("rollback_type: 2\nverify: []\n")
    assert (d.line, d.col) == (1, 1)
    assert d.message == "document: missing required key 'drill'"


def test_a_rollback_type_out_of_range_is_reported_at_the_value() -> None:
    d = only_error("drill: x\nrollback_type: 7\n")
    assert (d.line, d.col) == (2, 16)
    assert d.message == "rollback_type: 7 is greater than the maximum of 5"


def test_a_bad_duration_is_reported_with_the_accepted_forms() -> None:
    d = only_error(HEAD + "verify:\n  - command: echo\n    timeout: 5 minutes\n")
    assert (d.line, d.col) == (5, 14)
    assert d.message == (
        "verify.0.timeout: expected a duration like 500ms, 90s, 5m or 1h30m, got '5 minutes'"
    )


@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_a_duration_that_is_not_finite_is_refused(value: str) -> None:
    only_error(HEAD + f"verify:\n  - command: echo\n    timeout: {value}\n")


def test_two_actions_in_one_step_are_reported_at_the_second() -> None:
    d = only_error(HEAD + "verify:\n  - name: both\n    command: echo a\n    shell: echo b\n")
    assert (d.line, d.col) == (6, 5)
    assert d.message == "a step takes exactly one action, found command, shell"


def test_a_step_without_an_action_is_reported_at_the_step() -> None:
    d = only_error(HEAD + "verify:\n  - name: nothing to do\n    retries: 1\n")
    assert (d.line, d.col) == (4, 5)
    assert d.message.startswith("step has no action; use one of: ")
    assert "command" in d.message and "wait_for" in d.message


def test_a_template_syntax_error_is_located_at_its_string() -> None:
    d = only_error(HEAD + 'verify:\n  - command: "echo {{ oops"\n')
    assert (d.line, d.col) == (4, 14)
    assert d.message.startswith("template syntax error:")


def test_an_expression_syntax_error_in_when_is_located_at_its_string() -> None:
    d = only_error(HEAD + "verify:\n  - command: echo\n    when: 'a =='\n")
    assert (d.line, d.col) == (5, 11)
    assert d.message.startswith("template syntax error:")


def test_an_expression_syntax_error_in_assert_is_located_at_its_string() -> None:
    d = only_error(HEAD + "verify:\n  - assert:\n      that: [ok, 'a ==']\n")
    assert (d.line, d.col) == (5, 18)


def test_rollback_auto_is_accepted() -> None:
    playbook, _ = load_playbook("drill.yml", HEAD + "rollback: auto\n")
    assert playbook.rollback_auto is True
    assert playbook.phases["rollback"] == ()


def test_rollback_must_be_steps_or_auto() -> None:
    d = only_error(HEAD + "rollback: manual\n")
    assert (d.line, d.col) == (3, 11)


def test_yes_where_a_boolean_is_expected_explains_yaml_1_2() -> None:
    d = only_error(HEAD + "verify:\n  - command: echo\n    ignore_errors: yes\n")
    assert (d.line, d.col) == (5, 20)
    assert "expected true or false" in d.message
    assert "YAML 1.2" in d.message


def test_an_unknown_top_level_key_is_reported_at_the_key_with_a_hint() -> None:
    d = only_error(HEAD + "verfiy: []\n")
    assert (d.line, d.col) == (3, 1)
    assert d.message == "unknown key 'verfiy' (did you mean 'verify'?)"


def test_a_duplicate_key_and_a_schema_error_are_reported_together() -> None:
    diags = load_errors("drill: a\ndrill: b\nrollback_type: 9\n")
    assert located(diags) == [(2, 1), (3, 16)]


def test_load_playbook_reads_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD)
    playbook, _ = load_playbook(path)
    assert playbook.path == str(path)


def test_load_playbook_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_playbook(tmp_path / "absent.yml")
    assert str(caught.value) == f"{tmp_path / 'absent.yml'}:1:1: file not found"


# --- (d) the published schemas accept the shipped files ---------------------------------


def schema_from_cli(kind: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    Draft202012Validator.check_schema(schema)
    return schema


def test_acceptance_playbook_schema_is_valid_and_accepts_every_shipped_playbook(
    capsys: pytest.CaptureFixture[str],
) -> None:
    validator = Draft202012Validator(schema_from_cli("playbook", capsys))
    playbooks = sorted((REPO / "playbooks").glob("*.yml"))
    assert playbooks, "no playbooks/*.yml to check"
    for path in playbooks:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], path


def shipped_inventories() -> list[Path]:
    # group_vars/ and host_vars/ hold variable files read beside an inventory, not inventories.
    return sorted(
        p
        for p in (REPO / "inventories").rglob("*.yml")
        if not {"group_vars", "host_vars"} & set(p.relative_to(REPO).parts)
    )


def test_acceptance_inventory_schema_is_valid_and_accepts_every_shipped_inventory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    validator = Draft202012Validator(schema_from_cli("inventory", capsys))
    inventories = shipped_inventories()
    assert REPO / "inventories" / "local.yml" in inventories
    for path in inventories:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], path


def test_acceptance_playbook_schema_refuses_what_the_loader_refuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    validator = Draft202012Validator(schema_from_cli("playbook", capsys))
    assert not validator.is_valid(yaml.safe_load(FOUR_PROBLEMS.replace("hosts: all\n", "")))
    assert validator.is_valid(yaml.safe_load(VALID))


def test_variables_guarded_by_default_or_is_defined_are_not_undefined(tmp_path: Path) -> None:
    path = tmp_path / "guarded.yml"
    path.write_text(
        "drill: g\nrollback_type: 2\n"
        "vars:\n  lab: \"{{ lab_control | default('python3 -m runner lab') }}\"\n"
        "deploy:\n"
        "  - shell: \"echo {{ x | default('a') }} {{ y }}\"\n"
        "    when: z is defined and z\n"
    )
    findings = lint_file(path)
    assert [(d.line, d.message.split()[0]) for d in findings] == [(6, "'y'")]


BUDGET = """\
drill: budget
rollback_type: 2
objectives: {{rto: {rto}}}
probes:
  health: {{http: {{url: "http://127.0.0.1:1/h", timeout: 1s}}, every: 1s}}
triggers:
  - {{probe: health, consecutive_failures: 5}}
rollback:
  - {{shell: "true", timeout: 3s}}
verify:
  - {{shell: "true"}}
"""


def test_triggers_that_cannot_detect_within_the_rto_are_a_lint_error_naming_the_numbers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "budget.yml"
    path.write_text(BUDGET.format(rto="5s"))
    [finding] = lint_file(path)
    assert (finding.line, finding.rule) == (3, "rto-budget")
    # 5 failures 1 s apart, each check hanging up to its 1 s timeout: 1 + 4*2 + 1 = 10 s.
    assert "detection up to 10.0s" in finding.message
    assert "rollback timeouts 3s = 13.0s, over by 8.0s" in finding.message


def test_triggers_that_fit_the_rto_pass_the_budget_rule(tmp_path: Path) -> None:
    path = tmp_path / "budget.yml"
    path.write_text(BUDGET.format(rto="13s"))
    assert lint_file(path) == []


def test_templated_action_arguments_are_checked_after_rendering_not_against_the_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "templated.yml"
    path.write_text(
        "drill: t\nrollback_type: 2\nvars: {p: 8080}\n"
        "inject:\n  - fault: {kind: network.partition, ports: ['{{ p }}']}\n"
        "deploy:\n  - {shell: 'true', retries: '{{ p }}'}\n"
    )
    [finding] = lint_file(path)
    assert finding.line == 7 and "retries" in finding.message  # step keywords stay literal


def test_an_unknown_filter_is_a_located_lint_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "filter.yml"
    # `combine` became a known filter (an Ansible habit); `combobulate` is nobody's.
    path.write_text(
        "drill: t\nrollback_type: 2\ndeploy:\n  - shell: 'echo {{ x | combobulate }}'\n"
    )
    [finding] = lint_file(path)
    assert (finding.line, finding.col) == (4, 12)
    assert "No filter named 'combobulate'" in finding.message


def test_plan_can_call_methods_on_results_registered_earlier(tmp_path: Path) -> None:
    from runner.cli import main

    path = tmp_path / "deferred.yml"
    path.write_text(
        "drill: t\nrollback_type: 2\nverify:\n  - {shell: 'echo hi', register: out}\n"
        "  - assert: {that: \"out.stdout.strip() == 'hi'\", fail_msg: '{{ out.stdout.strip() }}'}\n"
    )
    assert main(["plan", str(path)]) == 0
