"""Fuzzing the secret mask: a secret through any chain of filters, methods, slices and
concatenations comes out masked, with no piece of it or of its encodings left."""

from __future__ import annotations

import base64
import json
import shlex
import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.secrets import MASK, SecretMask
from runner.templating.templar import Templar
from tests.fuzz.strategies import fuzz_settings

ALPHABET = "abcXYZ0189'\"/\\+=&%@:;#!?$ é-_.~"
SECRETS = st.text(alphabet=ALPHABET, min_size=8, max_size=24).filter(
    lambda s: s.strip() == s and len(set(s)) > 4 and MASK not in s
)
STEPS = [
    "{} | quote",
    "{} | urlencode",
    "{} | to_json",
    "{} | tojson",
    "{} | to_nice_json",
    "{} | to_yaml",
    "{} | b64encode",
    "{} | upper",
    "{} | lower",
    "{} | reverse | join",
    "{} | e",
    "{} | replace('/', '%2F')",
    "{} | regex_replace('a', 'A')",
    "{} | string",
    "('user:' ~ {})",
    "({} ~ '@db')",
    "{}[1:]",
    "{}[::-1]",
    "{}.upper()",
    "{}.replace(\"'\", '')",
    "{{'k': {}}} | to_json",
    "{{'k': {}}} | urlencode",
    "[{}, 'x'] | join(',')",
]
SLIDE = 6  # a piece this long of the secret or of a form of it counts as a leak


def pieces(secret: str) -> set[str]:
    """Every SLIDE-long piece of the secret and of what encoders make of it alone."""
    raw = secret.encode()
    forms = {
        secret,
        secret.upper(),
        secret[::-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret, safe="/"),
        shlex.quote(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode(),
        raw.hex(),
    }
    return {form[i : i + SLIDE] for form in forms for i in range(len(form) - SLIDE + 1)}


@settings(fuzz_settings(300), derandomize=True)
@given(secret=SECRETS, chain=st.lists(st.sampled_from(STEPS), min_size=1, max_size=3))
def test_a_secret_through_any_chain_of_transformations_comes_out_masked(
    secret: str, chain: list[str]
) -> None:
    expression = "pw"
    for step in chain:
        expression = step.format(f"({expression})")
    templar = Templar(SecretMask([secret]))
    rendered = templar.render_text("{{ " + expression + " }}", {"pw": secret})
    masked = templar.secrets.mask(rendered)
    leaked = {piece for piece in pieces(secret) if piece in masked}
    assert not leaked, (expression, rendered, masked, leaked)
