"""The user-facing docs (README.md, docs/, bench/) stand alone: every file, link and anchor
they name is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "bench").glob("*.md")])
# Top-level directories whose paths a doc may name; a path under one of them must exist.
TRACKED_ROOTS = ("runner", "docs", "tests", "playbooks", "inventories", "bench", ".ci")
# Files the runner writes into a run directory or beside it: named in the docs, never in the
# repository.
RUN_OUTPUTS = {
    "result.json",
    "report.md",
    "report.html",
    "junit.xml",
    "journal.jsonl",
    "journal.sig",
    "approval.json",
    "history.db",
}

# Paths the tools create on first use, git-ignored, which a doc names on purpose.
CREATED_ON_USE = {"bench/.venv"}

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
PATH = re.compile(r"^\.?[\w-]+(/[\w.*-]+)+/?$")
MD_NAME = re.compile(r"(?<![\w/.-])([\w.-]+\.md)\b")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    return {
        _slug(line.lstrip("#"))
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def _without_code_blocks(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def link_problems(doc: Path) -> list[str]:
    problems = []
    for target in LINK.findall(_without_code_blocks(doc.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:: outside the repository by design
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            problems.append(f"{doc.name}: link to {target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            problems.append(f"{doc.name}: link to {target}: no such heading")
    return problems


def path_problems(doc: Path) -> list[str]:
    problems = []
    text = doc.read_text(encoding="utf-8")
    for token in CODE.findall(text):
        token = token.strip()
        if not PATH.match(token) or token.split("/", 1)[0] not in TRACKED_ROOTS:
            continue
        if token.rstrip("/") in CREATED_ON_USE:
            continue
        if not list(ROOT.glob(token.rstrip("/"))):
            problems.append(f"{doc.name}: names {token}, which is not in the repository")
    if re.search(r"\bDESIGN\b", text):
        problems.append(f"{doc.name}: refers to DESIGN, an internal document not in the repository")
    known = {p.name for p in ROOT.rglob("*.md") if ".git" not in p.parts}
    for name in dict.fromkeys(MD_NAME.findall(text)):
        if name not in known and name not in RUN_OUTPUTS:
            problems.append(f"{doc.name}: mentions {name}, which is not in the repository")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_link_of_a_doc_leads_to_a_file_and_heading_in_the_repository(doc: Path) -> None:
    assert link_problems(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_a_doc_names_is_in_the_repository(doc: Path) -> None:
    assert path_problems(doc) == []


def test_the_checks_see_a_missing_file_a_missing_heading_and_an_internal_doc(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Title\n\nSee [the design](DESIGN.md), [ok](#title), [gone](#nowhere), "
        "`runner/no_such_module.py`, `playbooks/quickstart.yml` and DESIGN.md.\n"
    )
    assert link_problems(doc) == [
        "doc.md: link to DESIGN.md: no such file",
        "doc.md: link to #nowhere: no such heading",
    ]
    assert path_problems(doc) == [
        "doc.md: names runner/no_such_module.py, which is not in the repository",
        "doc.md: refers to DESIGN, an internal document not in the repository",
        "doc.md: mentions DESIGN.md, which is not in the repository",
    ]


def test_headings_become_github_anchors() -> None:
    assert _slug(" `phases` and `steps`") == "phases-and-steps"
    assert _slug(" How the figures are defined") == "how-the-figures-are-defined"
    assert (
        _slug(" Checking a run: `drillctl verify RUN_DIR`")
        == "checking-a-run-drillctl-verify-run_dir"
    )
