"""Each lint rule: a playbook it reports, located, and the fixed playbook it accepts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import Diagnostic
from runner.faults.registry import FAULTS
from runner.inventory import load_inventory
from runner.inventory.model import Inventory
from runner.lint.linter import lint_file
from runner.lint.rules import RULES
from runner.lint.rules.faults import REVERT_ARGS

REPO = Path(__file__).resolve().parents[2]

# A playbook every rule accepts; each test breaks it in one way.
CLEAN = """\
drill: clean
rollback_type: 2
hosts: gateway
vars:
  version: "3.2.0"
deploy:
  - name: ship it
    shell: "./deploy.sh --version={{ version | quote }}"
rollback:
  - command: ./deploy.sh --previous
verify:
  - command: echo ok
"""


def lint(tmp_path: Path, text: str, inventory: Inventory | None = None) -> list[Diagnostic]:
    path = tmp_path / "drill.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return lint_file(path, inventory=inventory)


def only(findings: list[Diagnostic], rule: str) -> list[tuple[int, int, str]]:
    """(line, col, message) of the findings of one rule, after checking no other rule spoke."""
    assert {d.rule for d in findings} <= {rule}, [str(d) for d in findings]
    return [(d.line, d.col, d.message) for d in findings]


@pytest.fixture
def local_inventory() -> Inventory:
    return load_inventory(REPO / "inventories" / "local.yml")


def test_the_clean_playbook_is_clean(tmp_path: Path, local_inventory: Inventory) -> None:
    assert lint(tmp_path, CLEAN, local_inventory) == []


# -- the registry ---------------------------------------------------------------------------------


def test_every_rule_has_an_id_a_severity_a_one_line_rationale_and_a_documented_check() -> None:
    assert len(RULES) >= 10
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule.severity in ("error", "warning")
        assert rule.rationale and "\n" not in rule.rationale and len(rule.rationale) <= 100
        assert rule.check.__doc__ and len(rule.doc.splitlines()) >= 3, rule_id


def test_findings_carry_their_rules_id_and_severity(tmp_path: Path) -> None:
    [finding] = lint(tmp_path, CLEAN.replace('"3.2.0"', '"3.2.0"\n  spare: x'))
    assert (finding.rule, finding.severity) == ("unused-variable", "warning")
    assert str(finding).endswith(
        ": unused-variable variable 'spare' is defined but never used; use it or remove it"
    )


def test_rules_beyond_undefined_variables_wait_for_a_playbook_that_loads(tmp_path: Path) -> None:
    broken = CLEAN.replace("rollback:\n  - command: ./deploy.sh --previous\n", "") + "bogus: 1\n"
    findings = lint(tmp_path, broken)
    assert [d.rule for d in findings] == [""]  # the unknown key; not the missing rollback


def test_a_noqa_comment_silences_the_named_rule_on_its_line(tmp_path: Path) -> None:
    text = CLEAN.replace('"3.2.0"', '"3.2.0"\n  spare: x  # noqa: unused-variable')
    assert lint(tmp_path, text) == []
    other = CLEAN.replace('"3.2.0"', '"3.2.0"\n  spare: x  # noqa: plaintext-secret')
    assert [d.rule for d in lint(tmp_path, other)] == ["unused-variable"]
    bare = CLEAN.replace('"3.2.0"', '"3.2.0"\n  spare: x  # noqa')
    assert lint(tmp_path, bare) == []


# -- undefined-variable / unused-variable -------------------------------------------------------


def test_undefined_variable(tmp_path: Path) -> None:
    text = CLEAN.replace("version | quote", "versoin | quote")
    [(line, col, message)] = only(lint(tmp_path, text), "undefined-variable")
    assert (line, col) == (8, 12)
    assert message == "'versoin' is not defined (did you mean 'version'?)"


def test_unused_variable(tmp_path: Path) -> None:
    text = CLEAN.replace('"3.2.0"', '"3.2.0"\n  previous: "3.1.2"')
    assert only(lint(tmp_path, text), "unused-variable") == [
        (6, 3, "variable 'previous' is defined but never used; use it or remove it")
    ]


def test_a_variable_read_only_by_another_variable_counts_as_used(tmp_path: Path) -> None:
    text = CLEAN.replace('version: "3.2.0"', 'major: "3"\n  version: "{{ major }}.2.0"')
    assert lint(tmp_path, text) == []


# -- rto-budget / objective-over-budget ---------------------------------------------------------

PROBED = CLEAN.replace(
    "hosts: gateway\n",
    "hosts: gateway\nobjectives: {rto: RTO}\n"
    "probes:\n  health: {http: {url: 'http://127.0.0.1:1/h', timeout: 1s}, every: 1s}\n"
    "triggers:\n  - {probe: health, consecutive_failures: 3}\n",
)


def test_rto_budget(tmp_path: Path) -> None:
    [(line, col, message)] = only(lint(tmp_path, PROBED.replace("RTO", "4s")), "rto-budget")
    assert (line, col) == (4, 19)
    assert message.startswith("the RTO objective of 4s cannot be met: detection up to 6.0s")
    assert lint(tmp_path, PROBED.replace("RTO", "6s")) == []


def test_objective_over_budget(tmp_path: Path) -> None:
    over = PROBED.replace("RTO", "10m")
    [(line, col, message)] = only(lint(tmp_path, over), "objective-over-budget")
    assert (line, col) == (4, 19)
    assert message == (
        "the RTO objective of 10m00s is over the rollback type 2 budget of 5m00s "
        "(plus 6.0s to detect); lower the objective or change rollback_type"
    )
    assert lint(tmp_path, PROBED.replace("RTO", "5m")) == []


def test_the_budget_allows_for_detection_and_a_manual_decision(tmp_path: Path) -> None:
    text = PROBED.replace("RTO", "6m") + "decision: {manual: true, timeout: 2m}\n"
    assert lint(tmp_path, text) == []  # 5m budget + 6s to detect + 2m to decide


# -- deploy-without-rollback / irreversible-with-rollback ---------------------------------------

NO_ROLLBACK = CLEAN.replace("rollback:\n  - command: ./deploy.sh --previous\n", "")


def test_deploy_without_rollback(tmp_path: Path) -> None:
    assert only(lint(tmp_path, NO_ROLLBACK), "deploy-without-rollback") == [
        (
            6,
            1,
            "1 deploy step but no rollback: write the `rollback` steps, or `rollback: auto` "
            "with reversible actions",
        )
    ]
    empty = NO_ROLLBACK + "rollback: []\n"
    assert only(lint(tmp_path, empty), "deploy-without-rollback")


def test_rollback_auto_after_reversible_actions_is_a_rollback(tmp_path: Path) -> None:
    text = (
        NO_ROLLBACK.replace(
            'shell: "./deploy.sh --version={{ version | quote }}"',
            'release: {path: /srv/app, version: "{{ version }}"}',
        )
        + "rollback: auto\n"
    )
    assert lint(tmp_path, text) == []


def test_rollback_auto_does_not_restore_an_image_tag(tmp_path: Path) -> None:
    text = (
        NO_ROLLBACK.replace(
            'shell: "./deploy.sh --version={{ version | quote }}"',
            'docker.image: {name: "app:current", source: "app:{{ version }}"}',
        )
        + "rollback: auto\n"
    )
    [(line, col, message)] = only(lint(tmp_path, text), "deploy-without-rollback")
    assert (line, col) == (8, 5)
    assert message.startswith("`docker.image` records no undo")


def test_irreversible_with_rollback(tmp_path: Path) -> None:
    text = CLEAN.replace("rollback_type: 2", "rollback_type: 5")
    assert only(lint(tmp_path, text), "irreversible-with-rollback") == [
        (
            9,
            1,
            "rollback_type 5 is a point of no return: no rollback runs; remove `rollback` "
            "and prove the fix forward in `verify`",
        )
    ]
    fixed = NO_ROLLBACK.replace("rollback_type: 2", "rollback_type: 5")
    assert lint(tmp_path, fixed) == []


def test_irreversible_needs_verify_steps(tmp_path: Path) -> None:
    text = NO_ROLLBACK.replace("rollback_type: 2", "rollback_type: 5").replace(
        "verify:\n  - command: echo ok\n", ""
    )
    [(line, col, message)] = only(lint(tmp_path, text), "irreversible-with-rollback")
    assert (line, col) == (2, 1)
    assert "`verify` must prove the fix forward" in message


# -- rollback-without-verify ----------------------------------------------------------------------

NO_VERIFY = CLEAN.replace("verify:\n  - command: echo ok\n", "")


def test_rollback_without_verify(tmp_path: Path) -> None:
    message = (
        "no verify step checks the rollback: the drill passes only if every availability "
        "probe sees the service healthy after it; add `verify` steps"
    )
    assert only(lint(tmp_path, NO_VERIFY), "rollback-without-verify") == [(9, 1, message)]
    auto = NO_VERIFY.replace(
        'shell: "./deploy.sh --version={{ version | quote }}"',
        'release: {path: /srv/app, version: "{{ version }}"}',
    ).replace("rollback:\n  - command: ./deploy.sh --previous\n", "rollback: auto\n")
    assert only(lint(tmp_path, auto), "rollback-without-verify") == [(9, 1, message)]
    # A fault is reverted, which is a rollback too: verify must check the service after it.
    fault = "inject:\n  - fault: {kind: process.pause, pattern: app}\n"
    faulted = NO_VERIFY.replace("rollback:\n  - command: ./deploy.sh --previous\n", fault)
    found = [d for d in lint(tmp_path, faulted) if d.rule == "rollback-without-verify"]
    assert [(d.line, d.col, d.severity) for d in found] == [(9, 1, "warning")]


def test_a_verify_step_or_no_rollback_at_all_is_not_reported(tmp_path: Path) -> None:
    assert lint(tmp_path, CLEAN) == []
    # No rollback to check: `deploy-without-rollback` says what is missing, not this rule.
    neither = NO_ROLLBACK.replace("verify:\n  - command: echo ok\n", "")
    assert {d.rule for d in lint(tmp_path, neither)} == {"deploy-without-rollback"}
    # Type 5 has no rollback; `irreversible-with-rollback` asks for its verify steps.
    fix_forward = NO_ROLLBACK.replace("rollback_type: 2", "rollback_type: 5").replace(
        "verify:\n  - command: echo ok\n", ""
    )
    assert {d.rule for d in lint(tmp_path, fix_forward)} == {"irreversible-with-rollback"}


# -- unresolved-pattern -------------------------------------------------------------------------


def test_unresolved_pattern(tmp_path: Path, local_inventory: Inventory) -> None:
    text = CLEAN.replace("hosts: gateway", "hosts: gatway").replace(
        "  - command: echo ok\n", "  - command: echo ok\n    hosts: 'gateway:!lab1'\n"
    )
    assert only(lint(tmp_path, text, local_inventory), "unresolved-pattern") == [
        (
            3,
            8,
            "no host or group named 'gatway' in "
            f"{REPO / 'inventories' / 'local.yml'} (did you mean 'gateway'?)",
        ),
        (
            13,
            12,
            f"host pattern 'gateway:!lab1' matches no host in {REPO / 'inventories' / 'local.yml'}",
        ),
    ]


def test_patterns_are_not_checked_without_an_inventory(tmp_path: Path) -> None:
    assert lint(tmp_path, CLEAN.replace("hosts: gateway", "hosts: gatway")) == []


# -- plaintext-secret ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "what"),
    [
        ("  db_password: hunter2", "vars.db_password` looks like a secret"),
        ("  api_token: 12345678", "vars.api_token` looks like a secret"),
        ("  aws: AKIAIOSFODNN7EXAMPLE", "holds an AWS access key id"),
        ("  gh: ghp_" + "a" * 36, "holds a GitHub token"),
        ("  key: '-----BEGIN RSA PRIVATE KEY-----'", "holds a private key"),
        ("  dsn: postgresql://app:s3cret@db1/orders", "holds a password in a URL"),
    ],
)
def test_plaintext_secret(tmp_path: Path, line: str, what: str) -> None:
    text = CLEAN.replace('"3.2.0"', f'"3.2.0"\n{line}  # noqa: unused-variable')
    [(row, col, message)] = only(lint(tmp_path, text), "plaintext-secret")
    assert row == 6 and what in message
    assert "-e NAME=" in message and "secrets:" in message
    assert line.split(": ", 1)[1].strip("'") not in message  # the secret is not repeated


def test_plaintext_secret_in_step_arguments(tmp_path: Path) -> None:
    text = CLEAN.replace(
        "  - command: echo ok\n",
        "  - http: {url: 'http://127.0.0.1/', headers: {Authorization: 'Bearer abc'}}\n",
    )
    [(line, _, message)] = only(lint(tmp_path, text), "plaintext-secret")
    assert line == 12 and "verify.0.http.headers.Authorization" in message


@pytest.mark.parametrize(
    "line",
    [
        "  db_password: \"{{ env('DB_PASSWORD', secret=true) }}\"",
        "  password_file: /run/secrets/db",
        "  token_url: https://auth.example.net/token",
        '  dsn: "postgresql://app:{{ db_password }}@db1/orders"',
        "  use_token: true",
    ],
)
def test_secrets_from_the_environment_or_references_are_fine(tmp_path: Path, line: str) -> None:
    text = CLEAN.replace('"3.2.0"', f'"3.2.0"\n{line}  # noqa: unused-variable')
    text = text.replace("vars:", "secrets: [db_password]\nenv: [DB_PASSWORD]\nvars:")
    assert lint(tmp_path, text) == []


# -- unquoted-shell-template --------------------------------------------------------------------


def test_unquoted_shell_template(tmp_path: Path) -> None:
    text = CLEAN.replace("version | quote", "version")
    assert only(lint(tmp_path, text), "unquoted-shell-template") == [
        (8, 12, "{{ version }} reaches the shell unquoted; write `{{ value | quote }}`")
    ]


@pytest.mark.parametrize(
    "command",
    [
        "./deploy.sh --version={{ version | quote }}",
        "./deploy.sh --retries={{ version | length }}",
        "{{ version }} --help",  # the command itself: meant to be split
        "cd /srv && {{ version }} --help",
        "cat > x <<'EOF'\\n{{ version }}\\nEOF\\n./deploy.sh x",  # a quoted heredoc is data
    ],
)
def test_quoted_or_command_position_templates_are_fine(tmp_path: Path, command: str) -> None:
    text = CLEAN.replace("./deploy.sh --version={{ version | quote }}", command)
    assert lint(tmp_path, text) == []


def test_a_template_in_an_unquoted_heredoc_is_expanded_and_reported(tmp_path: Path) -> None:
    text = CLEAN.replace(
        "./deploy.sh --version={{ version | quote }}", "cat > x <<EOF\\n{{ version }}\\nEOF"
    )
    assert only(lint(tmp_path, text), "unquoted-shell-template")


# -- fault-without-revert -----------------------------------------------------------------------

FAULTY = CLEAN.replace(
    "verify:\n",
    "inject:\n  - fault: {kind: custom, inject: 'iptables -I INPUT -j DROP', revert: REVERT}\n"
    "verify:\n",
)


@pytest.mark.parametrize("revert", ["'true'", "':'", "'exit 0'", "'echo reverted'", "'  '"])
def test_fault_without_revert(tmp_path: Path, revert: str) -> None:
    [(line, col, message)] = only(
        lint(tmp_path, FAULTY.replace("REVERT", revert)), "fault-without-revert"
    )
    assert line == 12
    assert message.startswith("`revert` of this custom fault does nothing")


def test_a_fault_with_a_real_revert_is_fine(tmp_path: Path) -> None:
    assert lint(tmp_path, FAULTY.replace("REVERT", "'iptables -D INPUT -j DROP'")) == []
    kill = FAULTY.replace(
        "kind: custom, inject: 'iptables -I INPUT -j DROP', revert: REVERT",
        "kind: process.kill, name: gateway, restart: 'true', duration: 5s",
    )
    assert only(lint(tmp_path, kill), "fault-without-revert")  # a duration does not revert


def test_every_author_written_revert_argument_is_in_its_kinds_schema() -> None:
    for kind, key in REVERT_ARGS.items():
        assert key in FAULTS[kind].schema["properties"], kind


@pytest.mark.parametrize(
    ("probe", "at", "message"),
    [
        (
            "{http: {url: 'http://127.0.0.1:1/h', timeout: '{{ t }}'}, every: 1s}",
            "'{{ t }}'",
            "probes.health.http.timeout: expected a duration like 500ms",
        ),
        (
            "{http: {url: 'http://127.0.0.1:1/h', timeout: 0s}, every: 1s}",
            "0s}",
            "probes.health.http.timeout: '0s' is too short; it must be more than 0s",
        ),
        (
            "{http: {url: 'http://127.0.0.1:1/h', timeout: 1s}, every: 0s}",
            "0s}",
            "probes.health.every: '0s' is too short; it must be at least 50ms",
        ),
        (
            "{http: {url: 'http://127.0.0.1:1/h', timeout: 1s}, every: 49ms}",
            "49ms",
            "probes.health.every: '49ms' is too short; it must be at least 50ms",
        ),
    ],
    ids=["templated-timeout", "zero-timeout", "zero-interval", "below-minimum"],
)
def test_a_probe_timed_by_a_template_or_too_short_is_a_located_error(
    tmp_path: Path, probe: str, at: str, message: str
) -> None:
    # Found by fuzzing: these used to escape lint (first as a ValueError from the budget
    # arithmetic, then by being left out of it); a probe's timings are checked at load.
    text = PROBED.replace("RTO", "1m").replace(
        "{http: {url: 'http://127.0.0.1:1/h', timeout: 1s}, every: 1s}", probe
    )
    text = text.replace('version: "3.2.0"', 'version: "3.2.0"\n  t: 1s  # noqa: unused-variable')
    [finding] = lint(tmp_path, text)
    lines = textwrap.dedent(text).splitlines()
    line = next(i for i, t in enumerate(lines, start=1) if t.startswith("  health:"))
    assert (finding.line, finding.col) == (line, lines[line - 1].index(at) + 1)
    assert finding.message.startswith(message), finding.message
    assert finding.severity == "error"


def test_the_probe_interval_minimum_is_50ms_on_the_boundary(tmp_path: Path) -> None:
    text = PROBED.replace("RTO", "1m").replace("every: 1s}", "every: 50ms}")
    assert lint(tmp_path, text) == []


def test_a_templated_probe_interval_is_a_located_error_not_a_run_time_crash(tmp_path: Path) -> None:
    # The engine reads `every` before it renders anything, so it must be written out.
    text = PROBED.replace("RTO", "1s").replace("every: 1s}", "every: '{{ t }}'}")
    text = text.replace('version: "3.2.0"', 'version: "3.2.0"\n  t: 1s  # noqa: unused-variable')
    findings = lint(tmp_path, text)
    assert len(findings) == 1 and "every: expected a duration" in findings[0].message
