"""Lint findings for people and for CI: text, JSON, GitHub workflow commands and SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from runner import __version__
from runner.errors import Diagnostic, ExitCode
from runner.lint.rules import RULES

FORMATS = ("text", "json", "github", "sarif")
# Findings of the loader (YAML and schema) carry no rule id; CI formats need one.
SCHEMA_RULE = "schema"
SCHEMA_RATIONALE = "The playbook must be valid YAML and match the playbook schema."
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://drillctl.dev/docs/lint-rules"


def render(findings: Sequence[Diagnostic], fmt: str) -> str:
    """The findings in one of `FORMATS`, ready to print (no trailing newline)."""
    if fmt == "text":
        return "\n".join(str(d) for d in findings)
    if fmt == "json":
        return json.dumps([_plain(d) for d in findings], indent=2)
    if fmt == "github":
        return "\n".join(github_command(d) for d in findings)
    if fmt == "sarif":
        return json.dumps(sarif_log(findings), indent=2)
    raise ValueError(f"unknown lint output format {fmt!r}; use one of {', '.join(FORMATS)}")


def exit_code(findings: Sequence[Diagnostic], *, strict: bool = False) -> int:
    """2 with any error; 1 with warnings under `--strict`; else 0."""
    if any(d.severity == "error" for d in findings):
        return ExitCode.BAD_INPUT
    if strict and findings:
        return ExitCode.FAILED
    return ExitCode.PASSED


def _plain(d: Diagnostic) -> dict[str, Any]:
    return {
        "path": d.path,
        "line": d.line,
        "col": d.col,
        "message": d.message,
        "rule": d.rule,
        "severity": d.severity,
    }


# -- GitHub Actions workflow commands -----------------------------------------------------------


def github_command(d: Diagnostic) -> str:
    """`::error file=…,line=…,col=…,title=RULE::message`, escaped as the Actions toolkit does."""
    level = "error" if d.severity == "error" else "warning"
    props = {
        "file": d.path,
        "line": str(d.line),
        "col": str(d.col),
        "title": d.rule or SCHEMA_RULE,
    }
    rendered = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
    return f"::{level} {rendered}::{escape_data(d.message)}"


def escape_data(text: str) -> str:
    """Escape a command's message: `%`, CR and LF (toolkit `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property: as data, plus `:` and `,` (toolkit `escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


# -- SARIF 2.1.0 --------------------------------------------------------------------------------


def sarif_log(findings: Sequence[Diagnostic]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: every rule of the registry, then the findings."""
    rules = [_schema_descriptor()] + [
        {
            "id": rule.id,
            "name": _camel(rule.id),
            "shortDescription": {"text": rule.rationale},
            "fullDescription": {"text": rule.doc.split("\n\n")[0].replace("\n", " ")},
            "help": {"text": rule.doc, "markdown": rule.doc},
            "helpUri": f"{INFORMATION_URI}#{rule.id}",
            "defaultConfiguration": {"level": _level(rule.severity)},
        }
        for rule in RULES.values()
    ]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for d in findings:
        rule_id = d.rule or SCHEMA_RULE
        results.append(
            {
                "ruleId": rule_id,
                "ruleIndex": index.get(rule_id, -1),
                "level": _level(d.severity),
                "message": {"text": d.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": artifact_uri(d.path)},
                            "region": {"startLine": d.line, "startColumn": d.col},
                        }
                    }
                ],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "drillctl",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def artifact_uri(path: str) -> str:
    """A URI reference for a path: relative paths stay relative (code scanning wants them so)."""
    pure = PurePath(path)
    if pure.is_absolute():
        return "file://" + quote(pure.as_posix())
    return quote(pure.as_posix())


def _schema_descriptor() -> dict[str, Any]:
    return {
        "id": SCHEMA_RULE,
        "name": "Schema",
        "shortDescription": {"text": SCHEMA_RATIONALE},
        "fullDescription": {
            "text": "YAML syntax, duplicate keys, unknown keys, wrong types and template syntax."
        },
        "help": {"text": SCHEMA_RATIONALE, "markdown": SCHEMA_RATIONALE},
        "helpUri": f"{INFORMATION_URI}#{SCHEMA_RULE}",
        "defaultConfiguration": {"level": "error"},
    }


def _level(severity: str) -> str:
    return "error" if severity == "error" else "warning"


def _camel(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.split("-"))
