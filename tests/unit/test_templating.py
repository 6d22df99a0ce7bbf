"""Templates render strictly and in a sandbox; secrets they touch are masked everywhere."""

from __future__ import annotations

import pytest

from runner.secrets import MASK, SecretMask
from runner.templating.templar import Templar, TemplateError


@pytest.fixture
def templar() -> Templar:
    return Templar()


# --- rendering ------------------------------------------------------------------------


def test_renders_variables(templar: Templar) -> None:
    assert templar.render_text(
        "v{{ version }} on {{ host.name }}", {"version": 2, "host": {"name": "gw1"}}
    ) == ("v2 on gw1")


def test_text_without_template_markers_is_returned_untouched(templar: Templar) -> None:
    text = "awk '{print $1}' } {"
    assert templar.render_text(text, {}) == text


def test_a_trailing_newline_is_kept(templar: Templar) -> None:
    assert templar.render_text("{{ a }}\n", {"a": 1}) == "1\n"


def test_render_walks_dicts_and_lists_and_leaves_other_values_alone(templar: Templar) -> None:
    value = {"url": "http://{{ h }}", "ports": [80, "{{ p }}"], "on": True, "none": None}
    assert templar.render(value, {"h": "gw1", "p": 8080}) == {
        "url": "http://gw1",
        "ports": [80, "8080"],
        "on": True,
        "none": None,
    }


def test_an_undefined_variable_is_an_error_never_an_empty_string(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="undefined variable: 'data_dir' is undefined"):
        templar.render_text("rm -rf {{ data_dir }}/", {})


def test_an_undefined_attribute_is_an_error(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="undefined variable"):
        templar.render_text("{{ host.missing }}", {"host": {"name": "gw1"}})


def test_a_syntax_error_carries_the_line_within_the_template(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="template syntax error") as caught:
        templar.render_text("line one\n{{ oops", {})
    assert caught.value.lineno == 2


def test_any_other_error_inside_a_template_is_a_template_error(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        templar.render_text("{{ 1 / 0 }}", {})


def test_quote_filter_makes_a_value_safe_for_the_shell(templar: Templar) -> None:
    rendered = templar.render_text("rm {{ path | quote }}", {"path": "a b; rm -rf /"})
    assert rendered == "rm 'a b; rm -rf /'"


def test_json_filters_round_trip(templar: Templar) -> None:
    assert (
        templar.render_text("{{ v | to_json }}", {"v": {"b": 1, "a": [1]}}) == '{"a": [1], "b": 1}'
    )
    assert templar.render_text("{{ (s | from_json).a }}", {"s": '{"a": 5}'}) == "5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", True), ("On", True), ("1", True), ("no", False), ("", False), (0, False)],
)
def test_bool_filter(templar: Templar, value: object, expected: bool) -> None:
    assert templar.evaluate("v | bool", {"v": value}) is expected


# --- the sandbox ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ ().__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ env.__globals__ }}",
    ],
)
def test_sandbox_escapes_are_template_errors(templar: Templar, template: str) -> None:
    with pytest.raises(TemplateError, match="template not allowed in the sandbox"):
        templar.render_text(template, {})


def test_huge_ranges_are_refused(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="MAX_RANGE"):
        templar.render_text("{{ range(10**9) | list | length }}", {})


# --- expressions ----------------------------------------------------------------------


def test_evaluate_returns_the_value_of_a_bare_expression(templar: Templar) -> None:
    assert (
        templar.evaluate(
            "result.rc == 0 and version in ['1', '2']", {"result": {"rc": 0}, "version": "2"}
        )
        is True
    )
    assert templar.evaluate("items | length", {"items": [1, 2, 3]}) == 3


def test_evaluate_accepts_an_expression_wrapped_in_braces(templar: Templar) -> None:
    assert templar.evaluate("  {{ a > 1 }} ", {"a": 2}) is True


@pytest.mark.parametrize("value", [True, False])
def test_evaluate_passes_a_yaml_boolean_through(templar: Templar, value: bool) -> None:
    assert templar.evaluate(value, {}) is value


def test_evaluate_reports_a_syntax_error(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="expression syntax error"):
        templar.evaluate("a ==", {})


def test_evaluate_reports_an_undefined_variable_used_in_a_comparison(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="undefined variable"):
        templar.evaluate("missing == 1", {})


def test_evaluate_reports_a_bare_undefined_variable(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="undefined variable"):
        templar.evaluate("typo_var", {})


def test_evaluate_in_the_sandbox(templar: Templar) -> None:
    with pytest.raises(TemplateError, match="not allowed in the sandbox"):
        templar.evaluate("().__class__.__mro__", {})


def test_is_defined_tests_work_under_strict_undefined(templar: Templar) -> None:
    assert templar.evaluate("missing is defined", {}) is False
    assert templar.evaluate("missing | default('x')", {}) == "x"


# --- variables used -------------------------------------------------------------------


def test_variables_used_lists_top_level_names_only_without_locals_or_globals(
    templar: Templar,
) -> None:
    text = "{{ url }}/{{ host.name }} {% for i in items %}{{ i }}{% endfor %}{{ env('HOME') }}"
    assert templar.variables_used(text) == {"url", "host", "items"}


def test_plain_text_uses_no_variables(templar: Templar) -> None:
    assert templar.variables_used("echo done") == set()


def test_variables_used_in_a_bare_expression(templar: Templar) -> None:
    assert templar.variables_used("running.json.version == good", expression=True) == {
        "running",
        "good",
    }
    assert templar.variables_used("{{ a or b }}", expression=True) == {"a", "b"}


def test_variables_used_of_broken_syntax_is_a_template_error(templar: Templar) -> None:
    with pytest.raises(TemplateError):
        templar.variables_used("{{ a +")


def test_check_syntax_returns_the_problem_instead_of_raising(templar: Templar) -> None:
    assert templar.check_syntax("{{ fine }}") is None
    problem = templar.check_syntax("{% if a %}")
    assert isinstance(problem, TemplateError)
    assert "template syntax error" in str(problem)
    assert templar.check_syntax("a ==", expression=True) is not None


# --- secrets --------------------------------------------------------------------------


def test_the_secret_filter_returns_the_value_and_masks_it_from_then_on(templar: Templar) -> None:
    rendered = templar.render_text("login -p {{ pw | secret }}", {"pw": "hunter2"})
    assert rendered == "login -p hunter2"
    assert templar.secrets.mask(rendered) == f"login -p {MASK}"


def test_env_reads_the_environment_and_masks_it_by_default(
    templar: Templar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILL_TEST_REGION", "eu-1")
    assert templar.render_text("{{ env('DRILL_TEST_REGION') }}", {}) == "eu-1"
    assert templar.secrets.mask("region eu-1") == f"region {MASK}"


def test_env_does_not_mask_a_value_too_short_to_be_a_secret_unless_told(
    templar: Templar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILL_TEST_DEBUG", "1")
    assert templar.render_text("{{ env('DRILL_TEST_DEBUG') }}", {}) == "1"
    assert templar.secrets.mask("took 1.1s") == "took 1.1s"
    templar.render_text("{{ env('DRILL_TEST_DEBUG', secret=true) }}", {})
    assert templar.secrets.mask("took 1.1s") == f"took {MASK}.{MASK}s"


def test_env_with_secret_false_is_not_masked(
    templar: Templar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILL_TEST_REGION", "eu-1")
    assert templar.render_text("{{ env('DRILL_TEST_REGION', secret=false) }}", {}) == "eu-1"
    assert not templar.secrets


def test_env_with_secret_true_masks_the_value(
    templar: Templar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRILL_TEST_TOKEN", "s3cr3t-token")
    rendered = templar.render_text("curl -H 'X: {{ env('DRILL_TEST_TOKEN', secret=True) }}'", {})
    assert "s3cr3t-token" in rendered
    assert templar.secrets.mask(rendered) == f"curl -H 'X: {MASK}'"


def test_env_falls_back_to_its_default(templar: Templar, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRILL_TEST_UNSET", raising=False)
    assert templar.render_text("{{ env('DRILL_TEST_UNSET', 'fallback') }}", {}) == "fallback"


def test_env_without_default_for_an_unset_variable_is_an_error(
    templar: Templar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DRILL_TEST_UNSET", raising=False)
    with pytest.raises(TemplateError, match="environment variable 'DRILL_TEST_UNSET' is not set"):
        templar.render_text("{{ env('DRILL_TEST_UNSET') }}", {})


def test_a_templar_shares_a_non_empty_mask_it_is_given() -> None:
    mask = SecretMask(["known"])
    templar = Templar(mask)
    templar.render_text("{{ 'fresh' | secret }}", {})
    assert templar.secrets is mask
    assert mask.mask("known fresh") == f"{MASK} {MASK}"


def test_a_templar_shares_an_empty_mask_it_is_given() -> None:
    mask = SecretMask()
    templar = Templar(mask)
    templar.render_text("{{ 'fresh' | secret }}", {})
    assert mask.mask("fresh") == MASK


# --- SecretMask -----------------------------------------------------------------------


def test_every_occurrence_of_a_secret_is_masked() -> None:
    assert SecretMask(["pw1"]).mask("a pw1 b pw1") == f"a {MASK} b {MASK}"


def test_the_longest_secret_is_masked_first_so_no_part_of_it_leaks() -> None:
    mask = SecretMask(["abc", "abcdef"])
    assert mask.mask("token=abcdef") == f"token={MASK}"
    assert mask.mask("token=abc") == f"token={MASK}"


def test_the_order_secrets_are_added_in_does_not_matter() -> None:
    first = SecretMask(["abcdef", "abc"])
    second = SecretMask(["abc", "abcdef"])
    assert first.mask("x abcdef") == second.mask("x abcdef") == f"x {MASK}"


@pytest.mark.parametrize("value", ["", None, MASK])
def test_empty_none_and_the_mask_itself_are_ignored(value: object) -> None:
    mask = SecretMask()
    mask.add(value)
    assert not mask
    assert mask.mask("text stays") == "text stays"


def test_non_string_secrets_are_registered_by_their_text() -> None:
    mask = SecretMask()
    mask.add(1234)
    assert mask.mask("pin 1234") == f"pin {MASK}"


def test_mask_value_masks_strings_inside_nested_values() -> None:
    mask = SecretMask(["hunter2"])
    value = {
        "cmd": "login hunter2",
        "argv": ["-p", "hunter2"],
        "hunter2": {"t": ("x hunter2",)},
        "rc": 0,
    }
    assert mask.mask_value(value) == {
        "cmd": f"login {MASK}",
        "argv": ["-p", MASK],
        MASK: {"t": [f"x {MASK}"]},
        "rc": 0,
    }


def test_an_empty_mask_returns_values_as_they_are() -> None:
    value = {"a": ["b"]}
    assert SecretMask().mask_value(value) is value
