"""A secret is masked in every form a template or a program makes of it, and before a cut."""

from __future__ import annotations

import base64
import html
import json
import shlex
import subprocess
import urllib.parse
from collections.abc import Callable

import markupsafe
import pytest

from runner.secrets import MASK, SecretMask, cut_head, cut_tail
from runner.templating.templar import Templar

SECRETS = ["s3cr'et/+=&x", 'back\\slash "quoted" é', "line one\nline two", "plain-Token-123"]

FORMS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "urlencode": lambda s: urllib.parse.quote(s, safe="/"),
    "quote": lambda s: urllib.parse.quote(s, safe=""),
    "quote_plus": urllib.parse.quote_plus,
    "shell": shlex.quote,
    "json": json.dumps,
    "json ascii off": lambda s: json.dumps(s, ensure_ascii=False),
    "html": html.escape,
    "repr": repr,
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 urlsafe": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
    "hex": lambda s: s.encode().hex(),
}


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_derived_form_is_masked(secret: str, form: str) -> None:
    derived = FORMS[form](secret)
    masked = SecretMask([secret]).mask(f"before {derived} after")
    assert derived not in masked and MASK in masked
    assert masked.startswith("before ") and masked.endswith(" after")


@pytest.mark.parametrize("prefix", ["", "u", "us", "user:", "Authorization: x"])
def test_base64_of_a_secret_inside_longer_text_is_masked_at_any_alignment(prefix: str) -> None:
    secret = "correct-horse-battery"
    encoded = base64.b64encode(f"{prefix}{secret}!".encode()).decode()
    masked = SecretMask([secret]).mask(encoded)
    assert MASK in masked
    # What is left shows at most the groups shared with the text around the secret.
    assert len(masked.replace(MASK, "")) <= 4 * (len(prefix) // 3 + 2) + 4


def test_the_shell_quoted_form_of_a_quote_inside_a_longer_word_is_masked() -> None:
    secret = "it's"
    command = shlex.quote(f"--password={secret}")
    assert secret not in command  # the quote is escaped: '--password=it'"'"'s'
    assert MASK in SecretMask([secret]).mask(command)


def test_a_url_password_is_masked_even_when_not_declared() -> None:
    mask = SecretMask()
    assert mask.mask("GET http://ops:hunter2@db:5432/x failed") == (
        f"GET http://ops:{MASK}@db:5432/x failed"
    )
    assert mask.mask("see http://db:5432/x and a@b") == "see http://db:5432/x and a@b"


def test_a_cut_is_made_after_masking_so_no_tail_survives() -> None:
    secret = "s3cr'et/+=&x"
    text = "a" * 10 + secret + "b" * 20
    cut = len("b" * 20) + 3  # inside the secret
    assert text[-cut:].startswith(secret[-3:])  # what a cut before masking would keep
    mask = SecretMask([secret])
    assert mask.tail(text, cut) == MASK[-3:] + "b" * 20
    assert mask.head(text, 13) == "a" * 10 + MASK[:3]


def test_mask_value_returns_the_value_itself_when_nothing_is_masked() -> None:
    value = {"a": ["b", {"c": 1}], 2: ("x",)}
    assert SecretMask(["zzz"]).mask_value(value) is value
    masked = SecretMask(["b"]).mask_value(value)
    assert masked["a"][0] == MASK and value["a"][0] == "b"


@pytest.mark.parametrize(
    "template",
    [
        "{{ ('user:' ~ pw) | b64encode }}",
        "{{ pw | b64encode | b64encode }}",
        "{{ pw | upper }}",
        "{{ pw | reverse | join }}",
        "{{ {'password': pw} | to_json }}",
        "{{ {'password': pw} | to_nice_yaml }}",
        "{{ {'p': pw} | urlencode }}",
    ],
)
def test_what_a_filter_makes_of_a_secret_is_a_secret(template: str) -> None:
    templar = Templar(SecretMask(["Zq9-hunter2"]))
    rendered = templar.render_text(template, {"pw": "Zq9-hunter2"})
    assert rendered.strip() and templar.secrets.mask(rendered).strip() == MASK


def test_what_a_filter_makes_of_other_values_is_not_masked() -> None:
    templar = Templar(SecretMask(["Zq9-hunter2"]))
    assert templar.render_text("{{ pw | length }} {{ 'abcd' | upper }}", {"pw": "Zq9-hunter2"})
    assert templar.secrets.mask("11 ABCD") == "11 ABCD"


def test_template_errors_mask_the_values_they_quote() -> None:
    templar = Templar(SecretMask(["Zq9-hunter2"]))
    with pytest.raises(Exception) as raised:
        templar.render_text("{{ {}[pw] }}", {"pw": "Zq9-hunter2"})
    assert "Zq9-hunter2" not in str(raised.value) and MASK in str(raised.value)


def test_a_secret_mapping_or_list_is_masked_by_each_value_inside_it() -> None:
    secret = {"user": "app-user", "password": "Nested-Pa55", "keys": ["ListSecret9", 12345678]}
    masked = SecretMask([secret]).mask("N=Nested-Pa55 L=ListSecret9 P=12345678 U=app-user")
    assert masked == f"N={MASK} L={MASK} P={MASK} U={MASK}"
    # The keys name the parts, they are not secret: "password" stays readable.
    assert SecretMask([secret]).mask("password user keys") == "password user keys"


def test_the_secret_filter_on_a_mapping_masks_what_is_taken_out_of_it() -> None:
    templar = Templar(SecretMask())
    creds = {"password": "Nested-Pa55"}
    rendered = templar.render_text("{{ (creds | secret).password }}", {"creds": creds})
    assert rendered == "Nested-Pa55" and templar.secrets.mask(rendered) == MASK


@pytest.mark.parametrize("secret", ["s3cr'et/+=&x", "it's a (long) pass$word!"])
@pytest.mark.parametrize(
    "script",
    [
        'set -x; : "$1"',  # bash traces a command as `: 's3cr'\''et/+=&x'`
        'printf "%q\\n" "$1"',  # `s3cr\'et/+=\&x`
    ],
)
def test_the_forms_bash_writes_a_secret_in_are_masked(secret: str, script: str) -> None:
    shown = subprocess.run(
        ["bash", "-c", script, "bash", secret], capture_output=True, text=True, check=True
    )
    text = shown.stdout + shown.stderr
    assert secret not in text  # bash wrote it in a quoted form: the test tests that form
    masked = SecretMask([secret]).mask(text)
    assert MASK in masked and "et/+=" not in masked and "pass" not in masked, masked


@pytest.mark.parametrize("width", [76, 64])  # `base64` and MIME; PEM and `openssl base64`
@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:" * 20])
def test_base64_wrapped_in_lines_is_masked_wherever_a_break_cuts_it(
    width: int, prefix: bytes
) -> None:
    secret = "a long secret: " + "Zq9-hunter2/" * 8
    encoded = base64.b64encode(prefix + secret.encode() + b"tail").decode()
    wrapped = "\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
    assert "\n" in wrapped and encoded not in wrapped
    masked = SecretMask([secret]).mask(f"begin\n{wrapped}\nend")
    assert MASK in masked and masked.startswith("begin\n") and masked.endswith("\nend")
    # No piece of the secret's base64, at any alignment, is left on any line.
    own = [base64.b64encode(b"\0" * n + secret.encode()).decode()[4:-4] for n in range(3)]
    for line in masked.splitlines():
        for i in range(len(line) - 11):
            assert not any(line[i : i + 12] in form for form in own), (line, masked)
    assert masked.count("\n") == wrapped.count("\n") + 2  # the lines are kept


KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDj3Y5e1y1lq8aXnTQWmS7vE0mM2xXq6h0pUuW1J7QhAwAAAJgT5n9eE+Z/\n"
    "true\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


def test_each_line_of_a_multi_line_secret_is_masked_where_lines_come_apart() -> None:
    import difflib

    diff = "\n".join(difflib.unified_diff(["old"], KEY.splitlines(), lineterm=""))
    masked = SecretMask([KEY]).mask(diff)
    assert "b3BlbnNzaC1rZXkt" not in masked and "QyNTUxOQAAACDj3Y5e" not in masked, masked
    assert f"+{MASK}" in masked and "-old" in masked
    some = "\n".join(KEY.splitlines()[1:3])  # `sed -n 2,3p key`
    assert SecretMask([KEY]).mask(f"x {some} y") == f"x {MASK}\n{MASK} y"
    # A line too short to hide anything is left alone everywhere else.
    assert SecretMask([KEY]).mask("enabled: true") == "enabled: true"


@pytest.mark.parametrize(
    ("secret", "written"),
    [
        # Percent-encoding with lowercase hex digits, as some programs write it.
        ("s3cr/et pass", "s3cr%2fet%20pass"),
        # Python quoting bytes: an error about the encoded value.
        ("pässwort-99", str("pässwort-99".encode())[2:-1]),
        # JSON with every slash escaped, as PHP's json_encode writes it.
        ("a/b/c-secret", "a\\/b\\/c-secret"),
        # markupsafe's escaping (Jinja's `escape` filter, Flask pages).
        ('it\'s "secret"', str(markupsafe.escape('it\'s "secret"'))),
    ],
)
def test_the_forms_other_programs_write_a_secret_in_are_masked(secret: str, written: str) -> None:
    assert written != secret
    masked = SecretMask([secret]).mask(f"got {written} here")
    assert masked == f"got {MASK} here", masked


def test_two_secrets_that_overlap_in_the_text_are_masked_whole() -> None:
    mask = SecretMask(["hunter2-Zq9", "Zq9-extra"])
    assert mask.mask("x hunter2-Zq9-extra y") == f"x {MASK} y"
    assert mask.mask("Zq9-extra, hunter2-Zq9") == f"{MASK}, {MASK}"
    assert mask.mask("hunter2-Zq9Zq9-extra") == MASK * 2  # side by side: each its own
    assert mask.mask("no secret here") == "no secret here"


@pytest.mark.parametrize(
    "text",
    [
        "line one\nconnecting with Zq9-hunter2-Xy7 now\nline three",
        '{"a": "bbb", "token": "Zq9-hunter2-Xy7", "c": 1}',
    ],
)
def test_a_cut_made_without_a_mask_keeps_no_piece_of_a_secret_it_would_halve(text: str) -> None:
    secret = "Zq9-hunter2-Xy7"
    pieces = {secret[i : i + 3] for i in range(len(secret) - 2)}
    for keep in range(len(text) + 2):
        for cut in (cut_tail(text, keep), cut_head(text, keep)):
            assert len(cut) <= keep
            kept = cut.replace(secret, MASK)  # whole, the mask finds it
            assert not any(piece in kept for piece in pieces), (keep, cut)
    # Whole words on either side are kept.
    assert cut_tail(text, len(text)) == text and cut_head(text, len(text)) == text
    assert cut_tail(text, 12).strip() and cut_head(text, 12).strip()
