"""Secret values: registered once, replaced by ******** wherever output leaves the program.

A secret leaves a drill in more forms than the one it was given in: a template URL-encodes
it, shell-quotes it, embeds it in JSON or base64-encodes it for a header, and the program
that receives it echoes that form back. Each registered value therefore brings its derived
forms with it (`derived_forms`), and all of them are masked.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "********"

# A derived form shorter than this is not masked on its own: three characters of base64 or
# hex match ordinary text everywhere, and hide nothing worth hiding.
MIN_FORM = 4

# Host variables that hold a connection's passwords (Ansible's names and ours): secrets
# whether or not the playbook lists them, as Ansible never shows them either.
CONNECTION_SECRETS = (
    "password",
    "ansible_password",
    "ansible_ssh_pass",
    "become_password",
    "ansible_become_password",
    "ansible_become_pass",
)

# `scheme://user:password@`: the password is masked even when nobody declared it secret.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)([^\s/@]+)(@)")


def _base64_cores(raw: bytes) -> Iterable[str]:
    """The base64 characters that depend on `raw` alone, wherever it sits in a longer input.

    Base64 works on groups of three bytes, so the encoding of `prefix + raw + suffix` holds
    one of three fixed strings (by the length of the prefix modulo 3) made of the groups
    that lie wholly inside `raw`: `'user:' ~ password | b64encode` still shows it.
    """
    for shift in (0, 1, 2):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        first = 1 if shift else 0
        last = (shift + len(raw)) // 3
        core = encoded[4 * first : 4 * last]
        if len(core) >= 8:
            yield core
            yield core.replace("+", "-").replace("/", "_")


_PERCENT = re.compile(r"%[0-9A-F]{2}")

# The characters bash's `printf %q` escapes with a backslash (`#` and `~` only first).
_SHELL_SPECIAL = re.compile(r"""([\s!"$&'()*,;<>?\[\\\]^`{|}])""")


def _shell_escaped(value: str) -> str:
    """`value` as a shell word quoted by backslashes (`s3cr\\'et\\&x`), as `printf %q` makes it."""
    escaped = _SHELL_SPECIAL.sub(r"\\\1", value)
    return "\\" + escaped if escaped[:1] in ("#", "~") else escaped


def base64_forms(value: str) -> set[str]:
    """The base64 forms of `value` (whole, unpadded, URL-safe, and its cores in longer input)."""
    raw = value.encode("utf-8", "surrogatepass")
    whole = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return whole | {form.rstrip("=") for form in whole} | set(_base64_cores(raw))


def derived_forms(value: str) -> set[str]:
    """`value` and what templates and programs make of it: URL, shell, JSON, HTML, base64, hex."""
    raw = value.encode("utf-8", "surrogatepass")
    quoted_json = json.dumps(value)[1:-1]
    percent = urllib.parse.quote(value, safe="")
    forms = {
        value,
        urllib.parse.quote(value, safe="/"),  # Jinja's urlencode of a string
        _PERCENT.sub(lambda m: m.group(0).lower(), percent),  # `%2f`: either case
        percent,
        urllib.parse.quote_plus(value),  # Jinja's urlencode of a mapping, HTML forms
        urllib.parse.quote_plus(value, safe="/"),
        shlex.quote(value),
        value.replace("'", "'\"'\"'"),  # inside a longer single-quoted shell word
        value.replace("'", "'\\''"),  # the same as POSIX shells write it: `bash -x`, scripts
        _shell_escaped(value),  # bash's `printf %q`
        quoted_json,
        json.dumps(value, ensure_ascii=False)[1:-1],
        # Jinja's tojson escapes these for HTML.
        quoted_json.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027"),
        repr(value)[1:-1],  # Python error messages quote values with repr
        repr(raw)[2:-1],  # ... and bytes: `b'p\\xc3\\xa9ss'`
        quoted_json.replace("/", "\\/"),  # JSON with `\\/`, as PHP's json_encode writes it
        html.escape(value),
        html.escape(value, quote=False),
        # markupsafe (Jinja's `escape`, Flask pages) writes quotes as `&#39;` and `&#34;`.
        html.escape(value, quote=False).replace("'", "&#39;").replace('"', "&#34;"),
        raw.hex(),
        raw.hex().upper(),
        *base64_forms(value),
    }
    forms |= _line_forms(value)
    return {form for form in forms if form == value or len(form) >= MIN_FORM}


# A line of a multi-line secret shorter than this is not masked on its own: `}` or `true`
# hide nothing, and would hide ordinary words everywhere.
MIN_LINE = 8


def _line_forms(value: str) -> set[str]:
    """Each line of a multi-line secret (a PEM key), as written and JSON-escaped.

    A diff prefixes every line with `+`, `head` and `tail` show some of them, and a
    terminal prints them one by one: the lines of a key reach output apart from each other.
    """
    lines = [line.strip() for line in value.splitlines()]
    if len(lines) < 2:
        return set()
    long_enough = [line for line in lines if len(line) >= MIN_LINE]
    return set(long_enough) | {json.dumps(line)[1:-1] for line in long_enough}


def _wrapped_pattern(forms: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern matching any of `forms` with line breaks anywhere between its characters."""
    longest_first = sorted(forms, key=lambda f: (-len(f), f))
    if not longest_first:
        return None
    broken = ("(?:\r?\n)?".join(re.escape(char) for char in form) for form in longest_first)
    return re.compile("|".join(broken))


def _covered(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each run of overlapping spans replaced by one mask.

    Found in the text as given, not one replacement after another: two secrets that
    overlap (`...Zq9` and `Zq9-...` in `...Zq9-...`) are hidden whole, where replacing the
    first would leave the rest of the second to be read.
    """
    pieces: list[str] = []
    done = 0
    start, end = -1, -1
    for at, stop in sorted(spans):
        if at < end:  # overlaps the run being built
            end = max(end, stop)
            continue
        if end != -1:  # the run before this span ends: mask it
            pieces += [text[done:start], MASK]
            done = end
        start, end = at, stop
    pieces += [text[done:start], MASK, text[end:]]
    return "".join(pieces)


class SecretMask:
    """The set of secret strings of one run, and the function that hides them."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._forms: set[str] = set()
        self._lock = threading.Lock()
        self._ordered: tuple[str, ...] = ()
        self._base64: set[str] = set()
        self._wrapped: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def add(self, value: object) -> None:
        """Register a secret value (and its derived forms).

        A mapping or list is registered by its values, each of them: a secret given as
        `{"user": "app", "password": "..."}` shows in output as its parts
        (`{{ creds.password }}`), never as the text of the whole mapping.
        """
        if isinstance(value, dict):
            for item in value.values():
                self.add(item)
            return
        if isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                self.add(item)
            return
        text = "" if value is None else str(value)
        if not text or text == MASK:
            return
        with self._lock:
            if text in self._values:
                return
            self._values.add(text)
            self._forms |= derived_forms(text) - {MASK}
            # Longest first, so a secret containing another is hidden whole.
            self._ordered = tuple(sorted(self._forms, key=lambda f: (-len(f), f)))
            self._base64 |= {f for f in base64_forms(text) if len(f) >= MIN_FORM}
            self._wrapped = _wrapped_pattern(self._base64)

    def __bool__(self) -> bool:
        return bool(self._values)

    def found_in(self, text: str) -> bool:
        """Whether `text` holds any form of a registered secret."""
        return any(form in text for form in self._ordered)

    def mask(self, text: str) -> str:
        """`text` with every form of every secret, and URL passwords, replaced by the mask."""
        spans: list[tuple[int, int]] = []
        for form in self._ordered:
            at = text.find(form)
            while at != -1:
                spans.append((at, at + len(form)))
                at = text.find(form, at + 1)
        if spans:
            text = _covered(text, spans)
        if "\n" in text and self._wrapped is not None:
            # Base64 is wrapped at 76 (`base64`, MIME) or 64 (PEM, `openssl`) columns: a
            # secret's base64 may be cut by a line break anywhere. The breaks are kept.
            text = self._wrapped.sub(lambda m: MASK + "\n" * m.group(0).count("\n"), text)
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", text)
        return text

    def tail(self, text: str, keep: int) -> str:
        """The last `keep` characters of `text`, masked before the cut (no secret tail survives)."""
        return self.mask(text)[-keep:] if keep > 0 else ""

    def head(self, text: str, keep: int) -> str:
        """The first `keep` characters of `text`, masked before the cut."""
        return self.mask(text)[:keep] if keep > 0 else ""

    def mask_value(self, value: Any) -> Any:
        """Mask strings inside any JSON-like value (the value itself when nothing is masked)."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            items = [
                (self.mask(k) if isinstance(k, str) else k, self.mask_value(v))
                for k, v in value.items()
            ]
            if all(
                k is k2 and v is v2 for (k, v), (k2, v2) in zip(value.items(), items, strict=True)
            ):
                return value
            return dict(items)
        if isinstance(value, (list, tuple)):
            masked = [self.mask_value(v) for v in value]
            if all(a is b for a, b in zip(value, masked, strict=True)):
                return value
            return masked
        return value


# Where a word ends, for a cut: spaces, and the punctuation around values in JSON, URL
# queries and markup. A token (a password, an API key) rarely holds one.
_BOUNDARY = frozenset(" \t\r\n,;\"'{}[]<>")


def _is_boundary(char: str) -> bool:
    return char in _BOUNDARY


def cut_tail(text: str, keep: int) -> str:
    """At most the last `keep` characters of `text`, from the start of a word.

    For a cut made where no mask is at hand: a secret the cut would halve is dropped whole
    with its word, where `text[-keep:]` would keep its tail, which no mask then recognises.
    """
    if len(text) <= keep:
        return text
    window = text[-keep:] if keep > 0 else ""
    if _is_boundary(text[-keep - 1 : -keep]):
        return window  # the cut fell between words
    at = next((i for i, char in enumerate(window) if _is_boundary(char)), len(window))
    return window[at:]


def cut_head(text: str, keep: int) -> str:
    """At most the first `keep` characters of `text`, to the end of a word (see `cut_tail`)."""
    if len(text) <= keep:
        return text
    window = text[:keep] if keep > 0 else ""
    if _is_boundary(text[keep : keep + 1]):
        return window
    at = next((i for i in range(len(window) - 1, -1, -1) if _is_boundary(window[i])), -1)
    return window[: at + 1]
