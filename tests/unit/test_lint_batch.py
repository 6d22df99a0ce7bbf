"""Lint of many files at once: the findings of one file after another, whatever the split."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jinja2 import meta

from runner.lint import batch
from runner.lint.linter import lint_file
from runner.templating.templar import checking_templar

GOOD = """\
drill: d{n}
rollback_type: 2
hosts: localhost
vars:
  word_{n}: "v{n}"
rollback:
  - command: "echo {{{{ word_{n} | quote }}}}"
"""
# Each kind of finding, so the split is checked on messages, positions and order.
BAD = (
    'drill: b\nrollback_type: 2\nhosts: localhost\nrollback:\n  - command: "echo {{ x | nope }}"\n',
    'drill: b\nrollback_type: 2\nhosts: localhost\nrollback:\n  - command: "echo {{ missing }}"\n',
    "drill: [b\n",
    "",
    'drill: b\nrollbak_type: 2\nhosts: localhost\nrollback:\n  - command: "echo {{ x"\n',
)


def _corpus(tmp_path: Path, count: int) -> list[str]:
    paths = []
    for n in range(count):
        text = BAD[n % len(BAD)] if n % 3 == 0 else GOOD.format(n=n)
        path = tmp_path / f"p{n:03d}.yml"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("count", [batch.MIN_FILES_TO_SPLIT - 1, batch.MIN_FILES_TO_SPLIT + 15])
def test_findings_are_those_of_one_file_after_another(tmp_path: Path, count: int) -> None:
    paths = _corpus(tmp_path, count)
    serial = [d for p in paths for d in lint_file(p)]
    assert serial, "the corpus must have findings for the comparison to mean anything"
    assert {d.path for d in serial} & set(paths[count // 2 :]), "and in its second half"
    assert batch.lint_files(paths, inventory=None, extra_vars=()) == serial


def test_a_failed_child_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that dies without its findings: its half is linted here, nothing is lost."""
    if not hasattr(os, "fork") or batch._cores() < 2:
        pytest.skip("the split needs fork and two cores")
    paths = _corpus(tmp_path, batch.MIN_FILES_TO_SPLIT + 4)
    serial = [d for p in paths for d in lint_file(p)]
    parent = os.getpid()
    real = batch._serial

    def dies_in_the_child(*args: object) -> object:
        if os.getpid() != parent:
            os._exit(7)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "_serial", dies_in_the_child)
    assert batch.lint_files(paths, inventory=None, extra_vars=()) == serial


@pytest.mark.parametrize(
    "text",
    [
        "{{ a }} {{ b.c }} {% for i in d %}{{ i }}{% endfor %}",
        "{% set e = 1 %}{{ e }} {{ f | default(g) }} {{ lookup('env', 'X') }}",
        "{% macro m(h) %}{{ h }}{{ k }}{% endmacro %}{{ m(1) }}",
    ],
)
def test_names_read_are_those_jinja_finds(text: str) -> None:
    found = checking_templar().variables_used(text)
    assert found == meta.find_undeclared_variables(checking_templar().env.parse(text))
    assert found  # each case reads at least one name
