"""Lint output formats: text and JSON for people and scripts, GitHub workflow commands and
SARIF 2.1.0 for CI, and the exit codes CI acts on.

No SARIF 2.1.0 JSON Schema is available offline here (no PyPI package ships it), so the
SARIF test validates against `SARIF_SUBSET`: the schema's own definitions of every object
drillctl emits (sarifLog, run, tool, toolComponent, reportingDescriptor, result, location,
physicalLocation, artifactLocation, region, message), with `additionalProperties: false`
so a misspelt property fails, plus the cross-references the schema cannot express.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from runner.errors import Diagnostic
from runner.lint.linter import lint_file
from runner.lint.output import (
    FORMATS,
    escape_data,
    escape_property,
    exit_code,
    github_command,
    render,
    sarif_log,
)
from runner.lint.rules import RULES

ERROR = Diagnostic("playbooks/a,b:c.yml", 12, 5, "100% wrong:\nsee, here", "undefined-variable")
WARNING = Diagnostic(
    "playbooks/drill.yml",
    3,
    1,
    "variable 'x' is defined but never used",
    "unused-variable",
    "warning",
)
SCHEMA_ERROR = Diagnostic("playbooks/drill.yml", 1, 1, "invalid YAML: oops")


# -- exit codes -----------------------------------------------------------------------------------


def test_exit_codes_clean_warnings_and_errors() -> None:
    assert exit_code([]) == 0
    assert exit_code([WARNING]) == 0
    assert exit_code([WARNING], strict=True) == 1
    assert exit_code([WARNING, ERROR]) == 2
    assert exit_code([ERROR], strict=True) == 2


# -- text and json --------------------------------------------------------------------------------


def test_text_is_one_finding_per_line_path_line_col_rule_message() -> None:
    assert render([WARNING], "text") == (
        "playbooks/drill.yml:3:1: unused-variable variable 'x' is defined but never used"
    )
    assert render([], "text") == ""


def test_json_keeps_every_field() -> None:
    [item] = json.loads(render([WARNING], "json"))
    assert item == {
        "path": "playbooks/drill.yml",
        "line": 3,
        "col": 1,
        "message": "variable 'x' is defined but never used",
        "rule": "unused-variable",
        "severity": "warning",
    }
    assert json.loads(render([], "json")) == []


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="use one of text, json, github, sarif"):
        render([], "xml")
    assert FORMATS == ("text", "json", "github", "sarif")


# -- GitHub workflow commands -------------------------------------------------------------------

_COMMAND = re.compile(r"^::(?P<name>[a-z]+) (?P<props>[^:]*)::(?P<data>.*)$")


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Parse a workflow command back the way the Actions runner does (`ActionCommand`)."""
    match = _COMMAND.match(line)
    assert match is not None, line
    props = {}
    for pair in match["props"].split(","):
        key, value = pair.split("=", 1)
        props[key] = _unescape(value, property_value=True)
    return match["name"], props, _unescape(match["data"], property_value=False)


def _unescape(text: str, *, property_value: bool) -> str:
    pairs = [("%0D", "\r"), ("%0A", "\n")]
    if property_value:
        pairs += [("%3A", ":"), ("%2C", ",")]
    for escaped, plain in [*pairs, ("%25", "%")]:
        text = text.replace(escaped, plain)
    return text


def test_a_github_command_parsed_back_carries_file_line_col_title_and_message() -> None:
    line = github_command(ERROR)
    assert "\n" not in line
    name, props, message = parse_command(line)
    assert name == "error"
    assert props == {
        "file": "playbooks/a,b:c.yml",
        "line": "12",
        "col": "5",
        "title": "undefined-variable",
    }
    assert message == "100% wrong:\nsee, here"


def test_warnings_and_schema_findings_as_github_commands() -> None:
    name, props, _ = parse_command(github_command(WARNING))
    assert (name, props["title"]) == ("warning", "unused-variable")
    name, props, message = parse_command(github_command(SCHEMA_ERROR))
    assert (name, props["title"], message) == ("error", "schema", "invalid YAML: oops")


def test_github_escaping_follows_the_toolkit() -> None:
    assert escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"


def test_github_output_is_one_command_per_finding() -> None:
    lines = render([ERROR, WARNING], "github").splitlines()
    assert [parse_command(line)[0] for line in lines] == ["error", "warning"]


# -- SARIF 2.1.0 --------------------------------------------------------------------------------

_MESSAGE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}},
    "required": ["text"],
}
SARIF_SUBSET: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {"type": "array", "items": {"$ref": "#/definitions/run"}},
    },
    "definitions": {
        "run": {
            "type": "object",
            "additionalProperties": False,
            "required": ["tool"],
            "properties": {
                "tool": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["driver"],
                    "properties": {"driver": {"$ref": "#/definitions/toolComponent"}},
                },
                "results": {"type": "array", "items": {"$ref": "#/definitions/result"}},
                "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
            },
        },
        "toolComponent": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "informationUri": {"type": "string", "format": "uri"},
                "rules": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"$ref": "#/definitions/reportingDescriptor"},
                },
            },
        },
        "reportingDescriptor": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "shortDescription": _MESSAGE,
                "fullDescription": _MESSAGE,
                "help": _MESSAGE,
                "helpUri": {"type": "string", "format": "uri"},
                "defaultConfiguration": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"level": {"enum": ["none", "note", "warning", "error"]}},
                },
            },
        },
        "result": {
            "type": "object",
            "additionalProperties": False,
            "required": ["message"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": -1},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "message": _MESSAGE,
                "locations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"physicalLocation": {"$ref": "#/definitions/physical"}},
                    },
                },
            },
        },
        "physical": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "artifactLocation": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"uri": {"type": "string", "format": "uri-reference"}},
                },
                "region": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "startLine": {"type": "integer", "minimum": 1},
                        "startColumn": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    },
}


def test_sarif_validates_against_the_sarif_2_1_0_definitions_it_uses() -> None:
    log = json.loads(render([ERROR, WARNING, SCHEMA_ERROR], "sarif"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(log)]
    assert errors == []


def test_sarif_lists_every_rule_of_the_registry_with_its_descriptions() -> None:
    driver = sarif_log([])["runs"][0]["tool"]["driver"]
    assert driver["name"] == "drillctl"
    by_id = {r["id"]: r for r in driver["rules"]}
    assert set(by_id) == {"schema", *RULES}
    for rule in RULES.values():
        entry = by_id[rule.id]
        assert entry["shortDescription"]["text"] == rule.rationale
        assert entry["help"]["text"] == rule.doc
        assert entry["defaultConfiguration"]["level"] == rule.severity


def test_sarif_results_point_at_their_rule_level_and_region() -> None:
    log = sarif_log([ERROR, WARNING, SCHEMA_ERROR])
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["undefined-variable", "unused-variable", "schema"]
    for result, finding in zip(results, [ERROR, WARNING, SCHEMA_ERROR], strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == finding.severity
        assert result["message"]["text"] == finding.message
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["region"] == {"startLine": finding.line, "startColumn": finding.col}
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "playbooks/a%2Cb%3Ac.yml"
    )


def test_sarif_of_an_absolute_path_is_a_file_uri() -> None:
    log = sarif_log([Diagnostic("/srv/play books/d.yml", 1, 1, "x", "unused-variable")])
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "file:///srv/play%20books/d.yml"


def test_sarif_of_real_lint_findings_validates(tmp_path: Path) -> None:
    path = tmp_path / "drill.yml"
    path.write_text("drill: x\nrollback_type: 2\nvars: {a: 1}\nverify:\n  - command: echo\n")
    findings = lint_file(path)
    assert [d.rule for d in findings] == ["unused-variable"]
    log = sarif_log(findings)
    assert list(_validator().iter_errors(log)) == []


def _validator() -> Draft7Validator:
    Draft7Validator.check_schema(SARIF_SUBSET)
    return Draft7Validator(SARIF_SUBSET, format_checker=Draft7Validator.FORMAT_CHECKER)
