"""YAML loading that remembers positions: the contract every located error relies on."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from runner import yamlpos
from runner.errors import Diagnostic, InputError
from runner.vault import VaultValue
from runner.yamlpos import Mark, load_yaml


def load_error(text: str, **kw: bool) -> list[Diagnostic]:
    with pytest.raises(InputError) as caught:
        load_yaml("drill.yml", text, **kw)
    return caught.value.diagnostics


def only_error(text: str) -> Diagnostic:
    diags = load_error(text)
    assert len(diags) == 1, diags
    return diags[0]


# --- positions ------------------------------------------------------------------------


def test_every_value_and_key_has_a_one_based_line_and_column() -> None:
    doc = load_yaml("drill.yml", "drill: smoke\nvars:\n  port: 8080\n  names: [a, b]\n")
    assert doc.mark(["drill"]) == Mark(1, 8)
    assert doc.key_mark(["drill"]) == Mark(1, 1)
    assert doc.mark(["vars", "port"]) == Mark(3, 9)
    assert doc.key_mark(["vars", "port"]) == Mark(3, 3)
    assert doc.mark(["vars", "names", 1]) == Mark(4, 14)


def test_items_of_a_block_list_are_located_at_their_first_character() -> None:
    doc = load_yaml("drill.yml", "verify:\n  - name: a\n    command: x\n  - name: b\n")
    assert doc.mark(["verify", 0]) == Mark(2, 5)
    assert doc.mark(["verify", 1]) == Mark(4, 5)
    assert doc.key_mark(["verify", 0, "command"]) == Mark(3, 5)


def test_an_unknown_path_is_located_at_its_nearest_known_ancestor() -> None:
    doc = load_yaml("drill.yml", "vars:\n  port: 8080\n")
    assert doc.mark(["vars", "missing", 3]) == doc.mark(["vars"])


def test_key_mark_falls_back_to_the_value_when_there_is_no_key() -> None:
    doc = load_yaml("drill.yml", "- a\n- b\n")
    assert doc.key_mark([1]) == doc.mark([1]) == Mark(2, 3)


def test_an_empty_document_is_none_located_at_the_start() -> None:
    doc = load_yaml("drill.yml", "# only a comment\n")
    assert doc.value is None
    assert doc.mark([]) == Mark(1, 1)


def test_diag_names_the_file_and_can_point_at_the_key() -> None:
    doc = load_yaml("drill.yml", "drill:\n  retries: many\n")
    at_value = doc.diag(["drill", "retries"], "bad", rule="r1")
    at_key = doc.diag(["drill", "retries"], "bad", at_key=True)
    assert str(at_value) == "drill.yml:2:12: r1 bad"
    assert (at_key.line, at_key.col) == (2, 3)


# --- duplicate keys -------------------------------------------------------------------


def test_duplicate_key_is_reported_at_the_second_occurrence() -> None:
    d = only_error("drill: first\nhosts: all\ndrill: second\n")
    assert (d.path, d.line, d.col) == ("drill.yml", 3, 1)
    assert d.message == "duplicate key 'drill' (first defined at line 1, column 1)"


def test_duplicate_key_in_a_nested_flow_mapping_is_located_too() -> None:
    d = only_error("vars: {a: 1, b: 2, a: 3}\n")
    assert (d.line, d.col) == (1, 20)
    assert "first defined at line 1, column 8" in d.message


def test_non_strict_loading_keeps_the_first_value_of_a_duplicate_and_lists_the_problem() -> None:
    doc = load_yaml("drill.yml", "a: 1\nb: 2\na: 3\n", strict=False)
    assert doc.value == {"a": 1, "b": 2}
    assert [(p.line, p.col) for p in doc.problems] == [(3, 1)]
    assert doc.mark(["a"]) == Mark(1, 4)


def test_all_problems_of_a_file_are_reported_together_in_order() -> None:
    diags = load_error("b: !custom x\na: 1\na: 2\n")
    assert [(d.line, d.col) for d in diags] == [(1, 4), (3, 1)]


# --- YAML 1.2 scalars -----------------------------------------------------------------


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "On", "OFF"])
def test_yaml_1_1_boolean_words_stay_strings(word: str) -> None:
    assert load_yaml("f.yml", f"flag: {word}\n").value == {"flag": word}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False)],
)
def test_only_true_and_false_are_booleans(text: str, expected: bool) -> None:
    assert load_yaml("f.yml", f"flag: {text}\n").value["flag"] is expected


@pytest.mark.parametrize("text", ["~", "null", "Null", "NULL", ""])
def test_null_forms(text: str) -> None:
    assert load_yaml("f.yml", f"v: {text}\n").value == {"v": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("0", 0),
        ("1_000", 1000),
        ("0x1F", 31),
        ("0o17", 15),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("-2.5E-1", -0.25),
    ],
)
def test_numbers(text: str, expected: float) -> None:
    value = load_yaml("f.yml", f"v: {text}\n").value["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_infinity_and_not_a_number() -> None:
    value = load_yaml("f.yml", "a: .inf\nb: -.Inf\nc: .NaN\n").value
    assert value["a"] == math.inf
    assert value["b"] == -math.inf
    assert math.isnan(value["c"])


@pytest.mark.parametrize("text", ["'42'", '"true"', "'yes'", '"~"', "'1.5'"])
def test_quoted_scalars_are_always_strings(text: str) -> None:
    assert load_yaml("f.yml", f"v: {text}\n").value["v"] == text[1:-1]


def test_block_scalars_are_strings() -> None:
    doc = load_yaml("f.yml", "cmd: |\n  echo 1\n  echo 2\nflat: >\n  one\n  two\n")
    assert doc.value == {"cmd": "echo 1\necho 2\n", "flat": "one two\n"}


def test_mapping_keys_are_always_strings() -> None:
    assert load_yaml("f.yml", "1: a\ntrue: b\nnull: c\n").value == {
        "1": "a",
        "true": "b",
        "null": "c",
    }


def test_a_time_of_day_stays_a_string() -> None:
    assert load_yaml("f.yml", "at: 12:30:00\n").value == {"at": "12:30:00"}


@pytest.mark.parametrize("text", ["2024-01-01", "2001-12-14t21:59:43.10-05:00", "="])
def test_plain_scalars_that_yaml_1_1_would_type_stay_strings(text: str) -> None:
    assert load_yaml("f.yml", f"v: {text}\n").value == {"v": text}


def test_a_leading_zero_number_is_not_a_float() -> None:
    value = load_yaml("f.yml", "mode: 0644\n").value["mode"]
    assert value == 644
    assert isinstance(value, int)


# --- tags -----------------------------------------------------------------------------


def test_standard_tags_convert_the_value() -> None:
    doc = load_yaml("f.yml", "a: !!str 12\nb: !!int '12'\nc: !!float 1\nd: !!bool true\n")
    assert doc.value == {"a": "12", "b": 12, "c": 1.0, "d": True}
    assert isinstance(doc.value["c"], float)


def test_an_application_tag_is_refused_at_the_tagged_value() -> None:
    d = only_error("token: !custom abc\n")
    assert (d.line, d.col) == (1, 8)
    assert d.message == "unsupported YAML tag '!custom'"


def test_a_vault_tag_on_text_that_is_no_vault_is_refused_at_the_value() -> None:
    d = only_error("vault: !vault abc\n")
    assert (d.line, d.col) == (1, 8)
    assert "`ansible-vault encrypt_string`" in d.message


def test_a_vault_value_loads_sealed_with_its_position() -> None:
    doc = load_yaml("f.yml", "a: 1\ntoken: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\n")
    token = doc.value["token"]
    assert isinstance(token, VaultValue)
    assert (token.path, token.line, token.col) == ("f.yml", 2, 8)
    assert token.ciphertext.startswith("$ANSIBLE_VAULT;1.1;AES256\n")


def test_a_non_core_yaml_tag_is_refused() -> None:
    d = only_error("blob: !!binary aGk=\n")
    assert (d.line, d.col) == (1, 7)
    assert "unsupported YAML tag 'tag:yaml.org,2002:binary'" in d.message


def test_a_value_that_does_not_fit_its_tag_is_reported() -> None:
    d = only_error("n: !!int many\n")
    assert (d.line, d.col) == (1, 4)
    assert d.message == "value 'many' does not fit its tag 'tag:yaml.org,2002:int'"


def test_non_strict_loading_replaces_a_bad_tag_with_none() -> None:
    doc = load_yaml("f.yml", "a: !custom x\nb: 1\n", strict=False)
    assert doc.value == {"a": None, "b": 1}
    assert [p.message for p in doc.problems] == ["unsupported YAML tag '!custom'"]


def test_the_non_specific_tag_makes_a_string() -> None:
    assert load_yaml("f.yml", "v: ! 12\n").value == {"v": "12"}


# --- anchors, aliases, merge keys -----------------------------------------------------


def test_an_alias_copies_the_anchored_value() -> None:
    doc = load_yaml("f.yml", "a: &x {k: 1}\nb: *x\n")
    assert doc.value == {"a": {"k": 1}, "b": {"k": 1}}
    assert doc.mark(["b", "k"]) == Mark(1, 11)  # where the copied value was written


def test_merge_keys_fill_in_missing_keys_and_explicit_keys_win() -> None:
    doc = load_yaml("f.yml", "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n")
    assert doc.value["child"] == {"x": 1, "y": 3}


def test_with_a_list_of_merges_the_first_mapping_wins() -> None:
    doc = load_yaml("f.yml", "a: &a {k: 1}\nb: &b {k: 2, j: 2}\nc:\n  <<: [*a, *b]\n")
    assert doc.value["c"] == {"k": 1, "j": 2}


def test_a_quoted_double_less_than_is_an_ordinary_key() -> None:
    assert load_yaml("f.yml", "'<<': x\n").value == {"<<": "x"}


def test_merging_a_non_mapping_is_an_error_at_the_merged_value() -> None:
    d = only_error("a:\n  <<: [1]\n")
    assert (d.line, d.col) == (2, 8)
    assert d.message == "a merge key (<<) needs a mapping or a list of mappings"


def test_a_key_overriding_a_merged_key_is_located_at_the_override() -> None:
    doc = load_yaml("f.yml", "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  y: 3\n")
    assert doc.key_mark(["child", "y"]) == Mark(4, 3)
    assert doc.mark(["child", "y"]) == Mark(4, 6)


def test_a_recursive_alias_is_an_error_not_a_hang() -> None:
    d = only_error("a: &a [1, *a]\n")
    assert (d.line, d.col) == (1, 4)
    assert d.message == "recursive alias: a value may not contain itself"


def test_a_recursive_alias_through_a_mapping_is_an_error() -> None:
    assert "recursive alias" in only_error("a: &a\n  b: *a\n").message


LAUGHS = "\n".join(
    [
        "a: &a [x, x, x, x, x, x, x, x, x, x]",
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
        "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]",
    ]
)


def test_a_billion_laughs_document_is_refused() -> None:
    d = only_error(LAUGHS)
    assert d.message == f"document expands to more than {yamlpos.MAX_EXPANDED_VALUES} values"


def test_the_expansion_limit_counts_every_aliased_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: &a [1, 2, 3, 4]\nb: [*a, *a, *a]\n"  # 1 + 1 + 4 + 1 + 3 * (1 + 4) = 22 values
    monkeypatch.setattr(yamlpos, "MAX_EXPANDED_VALUES", 22)
    assert load_yaml("f.yml", text).value["b"] == [[1, 2, 3, 4]] * 3
    monkeypatch.setattr(yamlpos, "MAX_EXPANDED_VALUES", 21)
    assert "document expands to more than 21 values" in only_error(text).message


# --- documents and syntax -------------------------------------------------------------


def test_a_second_document_is_an_error_at_its_start() -> None:
    d = only_error("drill: a\n---\ndrill: b\n")
    assert (d.line, d.col) == (2, 1)
    assert d.message == "invalid YAML: expected a single YAML document, found more than one"


def test_explicit_document_markers_around_one_document_are_fine() -> None:
    assert load_yaml("f.yml", "---\na: 1\n...\n").value == {"a": 1}


def test_a_syntax_error_is_located() -> None:
    d = only_error("key: value\n  bad: indent\n")
    assert (d.line, d.col) == (2, 6)
    assert d.message == "invalid YAML: mapping values are not allowed here"


def test_a_collection_as_mapping_key_is_refused() -> None:
    d = only_error("? [a]\n: 1\n")
    assert (d.line, d.col) == (1, 3)
    assert "mapping keys must be plain scalars" in d.message


def test_absurd_nesting_is_an_input_error_not_a_crash() -> None:
    d = only_error("[" * 3000 + "]" * 3000)
    assert d.message == "YAML nesting is too deep"


# --- files ----------------------------------------------------------------------------


def test_loads_from_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "drill.yml"
    path.write_text("drill: x\n", encoding="utf-8")
    doc = load_yaml(path)
    assert doc.value == {"drill": "x"}
    assert doc.path == str(path)


def test_a_missing_file_is_reported_at_line_1_column_1(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(InputError) as caught:
        load_yaml(path)
    assert str(caught.value) == f"{path}:1:1: file not found"


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InputError) as caught:
        load_yaml(path)
    assert caught.value.diagnostics[0].message.startswith("cannot read file:")
