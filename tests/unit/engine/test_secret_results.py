"""A registered result that the drill treats as secret is masked from the moment its step
ends: in that step's own output, in the terminal and the journal, not only afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli import main
from runner.templating.templar import Templar

TOKEN = "Fetched-Tok3n-abc"

DRILL = """\
drill: a token fetched at run time
rollback_type: 2
{secrets}deploy:
  - name: fetch token
    shell: "echo {token}; echo {token} >&2"
    register: tok
  - name: use token
    shell: "echo using {{{{ tok.stdout{filter} }}}} >/dev/null"
rollback:
  - shell: "true"
verify:
  - command: "true"
"""


@pytest.mark.parametrize(
    ("secrets", "filter_"),
    [("secrets: [tok]\n", ""), ("", " | secret")],
    ids=["listed under secrets", "passed through | secret later"],
)
def test_a_secret_result_is_masked_in_the_output_of_the_step_that_registers_it(
    secrets: str, filter_: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(DRILL.format(secrets=secrets, filter=filter_, token=TOKEN))
    out = tmp_path / "run"
    assert main(["run", str(playbook), "-v", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    journal = (out / "journal.jsonl").read_text()
    assert '"stdout":"********"' in journal.replace(" ", "")  # the output is there, masked
    texts = {"the terminal": captured.out + captured.err, "journal.jsonl": journal}
    texts |= {p.name: p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()}
    for where, text in texts.items():
        assert TOKEN not in text, f"the fetched token leaked into {where}"


def test_a_result_no_template_marks_secret_stays_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    playbook = tmp_path / "drill.yml"
    playbook.write_text(DRILL.format(secrets="", filter="", token=TOKEN))
    out = tmp_path / "run"
    assert main(["run", str(playbook), "-v", "--out", str(out)]) == 0
    assert TOKEN in (out / "journal.jsonl").read_text()


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("{{ tok.stdout | secret }}", {"tok"}),
        ("{{ (a ~ b.x) | secret | b64encode }} {{ c }}", {"a", "b"}),
        ("{{ tok.stdout | upper }}", set()),
        ("no template", set()),
        ("{{ broken", set()),
    ],
)
def test_the_names_a_template_marks_secret(template: str, names: set[str]) -> None:
    assert Templar().variables_marked_secret(template) == names
