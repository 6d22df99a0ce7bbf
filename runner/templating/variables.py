"""Variables per host: inventory group < host < playbook vars < registered < extra vars.

Playbook and inventory values may be templates that name other variables; they are
resolved once per host in dependency order, so authors need not order them.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from runner.inventory.model import Host, Inventory
from runner.templating.templar import Templar, TemplateError
from runner.vault import reveal


class VariableError(Exception):
    """A variable could not be resolved; `name` says which, for locating the error."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class DrillIdentity(Protocol):
    """What templates may read of the drill being run (a loaded playbook is one)."""

    @property
    def drill(self) -> str: ...

    @property
    def component(self) -> str: ...

    @property
    def rollback_type(self) -> int: ...


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_dir: str
    operator: str
    change_id: str
    environment: str


class Deferred:
    """Stands in for a value known only at run time (a registered result) in `plan`."""

    def __init__(self, label: str) -> None:
        self._label = label

    def __getattr__(self, name: str) -> Deferred:
        # The sandbox asks these to decide whether a value may be called: answer honestly.
        if name.startswith("_") or name in ("unsafe_callable", "alters_data"):
            raise AttributeError(name)
        return Deferred(f"{self._label}.{name}")

    def __call__(self, *args: object, **kwargs: object) -> Deferred:
        return Deferred(f"{self._label}()")

    def __getitem__(self, key: object) -> Deferred:
        return Deferred(f"{self._label}[{key!r}]")

    def __str__(self) -> str:
        return f"<{self._label}>"

    def __iter__(self) -> Any:
        return iter(())


class FreshCopies(Mapping[str, Any]):
    """Every host's variables (or every group's members), each made when a template asks.

    Each host's templates may read every host's variables. A copy of all of them per host
    is O(hosts²): at 1,000 hosts, a million dicts and hundreds of MB before the first step.
    This view shares the inventory's own mapping and copies only the entry asked for, so a
    template that changes what it got (the sandbox allows `update`) changes its own copy.
    """

    def __init__(self, source: Mapping[str, Any], make: Callable[[str], Any]) -> None:
        self._source = source
        self._make = make

    def __getitem__(self, name: str) -> Any:
        if name not in self._source:
            raise KeyError(name)
        return self._make(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


def magic_vars(
    host: Host, inventory: Inventory, playbook: DrillIdentity, run: RunInfo
) -> dict[str, Any]:
    """Names every template can use, whatever the playbook defines."""
    return {
        "inventory_hostname": host.name,
        "host": {
            "name": host.name,
            "address": host.address,
            "port": host.port,
            "user": host.user,
            "connection": host.connection,
            "groups": list(host.groups),
        },
        "hostvars": FreshCopies(inventory.hosts, lambda name: dict(inventory.hosts[name].vars)),
        "groups": FreshCopies(inventory.groups, inventory.group_members),
        "drill": {
            "name": playbook.drill,
            "component": playbook.component,
            "rollback_type": playbook.rollback_type,
            **run.__dict__,
        },
        "run_dir": run.run_dir,
        "run_id": run.run_id,
        "drillctl_python": sys.executable,
    }


MAGIC_NAMES = frozenset(
    {
        "inventory_hostname",
        "host",
        "hostvars",
        "groups",
        "drill",
        "run_dir",
        "run_id",
        "drillctl_python",
    }
)


def resolve_host_vars(
    templar: Templar,
    host: Host,
    layers: list[Mapping[str, Any]],
    magic: Mapping[str, Any],
    secret_names: Collection[str] = (),
) -> dict[str, Any]:
    """Merge the layers (later wins) and render templated values in dependency order.

    The value of each of `secret_names` is registered as a secret as soon as it is
    rendered, before any variable that uses it: an error in one that does
    (`has no attribute "hunter2"`) must already mask it.
    """
    raw: dict[str, Any] = {}
    for layer in layers:
        raw.update(layer)
    done: dict[str, Any] = dict(magic)
    stack: list[str] = []

    def resolve(name: str) -> Any:
        if name in done:
            return done[name]
        if name in stack:
            cycle = " -> ".join([*stack[stack.index(name) :], name])
            raise VariableError(name, f"variables refer to each other in a cycle: {cycle}")
        stack.append(name)
        try:
            # A vault value is opened (and masked) here, for a host the drill targets only.
            value = reveal(raw[name], templar.secrets)
            for dep in _dependencies(templar, value):
                if dep in raw:
                    resolve(dep)
            try:
                done[name] = templar.render(value, done)
            except TemplateError as exc:
                raise VariableError(name, f"variable {name!r} on host {host.name}: {exc}") from None
            if name in secret_names:
                templar.secrets.add(done[name])
        finally:
            stack.pop()
        return done[name]

    for name in raw:
        resolve(name)
    return done


def _dependencies(templar: Templar, value: Any) -> set[str]:
    if isinstance(value, str):
        try:
            return templar.variables_used(value)
        except TemplateError:
            return set()  # rendering will report it
    if isinstance(value, dict):
        return set().union(*(_dependencies(templar, v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_dependencies(templar, v) for v in value)) if value else set()
    return set()


def parse_extra_vars(items: list[str]) -> dict[str, Any]:
    """`-e` as ansible-playbook reads it, later items winning:

    - `NAME=VALUE`, or several in one item as Ansible's key=value syntax has them
      (`-e "a=1 b='x y'"`: split on spaces outside quotes and `{{ }}`/`{% %}`/`{# #}`,
      backslash escapes such as `\\t` decoded, one pair of matching quotes around a
      value removed; values stay text);
    - an inline JSON or YAML mapping (`-e '{"ports": [80, 443]}'`: values keep their types);
    - `@FILE`, a JSON or YAML file holding a mapping.

    Files and inline mappings are read as YAML 1.1, as Ansible reads vars files (`no` is
    false). Where Ansible would quietly keep text that names no variable (a word without
    `=`, a name that is not an identifier), this refuses it.

    Raises ValueError naming the bad item; a file or mapping that is not valid YAML raises
    InputError located in it."""
    from runner.yamlpos import load_yaml

    result: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            if not item[1:].strip():  # `-e @"$VARS"` with VARS unset: name no file
                raise ValueError(f"-e {item!r}: give the file's name after @")
            doc = load_yaml(item[1:], yaml11=True)
            if not isinstance(doc.value, dict):
                raise ValueError(f"-e {item}: the file must hold a mapping of variables")
            result.update(_named(item, doc.value))
            continue
        if item.lstrip().startswith(("{", "[")):
            doc = load_yaml("<command line>", item, yaml11=True)
            if not isinstance(doc.value, dict):
                raise ValueError(
                    f"-e {shown(item)}: give a mapping of variables, such as '{{\"a\": 1}}'"
                )
            result.update(_named(item, doc.value))
            continue
        if item.startswith(("/", ".")):
            raise ValueError(f"-e {item!r}: to read variables from a file, write -e @{item}")
        result.update(parse_key_values(item))
    return result


def parse_key_values(item: str) -> dict[str, str]:
    """One `-e` item of `NAME=VALUE` pairs (`a=1 b='x y'`), as Ansible's key=value syntax
    reads it. Raises ValueError for unbalanced quotes or braces, and for any word that is
    not a pair naming a variable: Ansible would keep it as free-form text, never a variable."""
    words = _split_words(item)
    if not any(w.strip() for w in words):
        raise ValueError(f"-e {shown(item)}: expected NAME=VALUE, a JSON mapping or @FILE")
    pairs: dict[str, str] = {}
    for number, word in enumerate(words, 1):
        try:
            text = _ESCAPE.sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), word)
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"-e {shown(item)}: bad escape in word {number}: {exc.reason}"
            ) from None
        at = 0 if text.startswith("=") else _separator(text)  # `=x` names nothing
        if at is None and len(words) == 1:
            raise ValueError(f"-e {shown(item)}: expected NAME=VALUE, a JSON mapping or @FILE")
        if at is None:
            raise ValueError(
                f"-e {shown(item)}: word {number} is not a pair; "
                "expected NAME=VALUE, a JSON mapping or @FILE (quote a value holding spaces)"
            )
        name, value = text[:at].strip(), text[at + 1 :].strip()
        if not name.isidentifier():
            raise ValueError(f"-e {shown(item)}: {name!r} is not a variable name")
        # One pair of matching quotes around the whole value goes, unless its close is escaped.
        quoted = (
            len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" and value[-2] != "\\"
        )
        pairs[name] = value[1:-1] if quoted else value
    return pairs


# Escapes decoded in a key=value word, as Ansible decodes them: \U, \u and \x hex, \N{name},
# and the one-character ones. Any other backslash (`\=`, `\d`) stays as it is.
_ESCAPE = re.compile(
    r"\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\N\{[^}]+\}|\\[\\'\"abfnrtv]"
)
_BLOCKS = (("{{", "}}"), ("{%", "%}"), ("{#", "#}"))


def _separator(text: str) -> int | None:
    """Where NAME ends: the first `=` after the first character that no backslash escapes."""
    at = text.find("=", 1)
    while at != -1 and text[at - 1] == "\\":
        at = text.find("=", at + 1)
    return None if at == -1 else at


def _split_words(item: str) -> list[str]:
    """Split on single spaces (and newlines) as Ansible does, keeping a quoted string or an
    open `{{ }}`, `{% %}` or `{# #}` block together with the spaces inside it."""
    words: list[str] = []
    quote: str | None = None  # the quote character open at the end of the last piece
    depth = dict.fromkeys((opener for opener, _ in _BLOCKS), 0)
    lines = item.split("\n")
    for n, line in enumerate(lines):
        continued = False
        for i, piece in enumerate(line.split(" ")):
            if piece == "" and i > 0:  # a run of spaces: kept with the word before it
                words[-1:] = [(words[-1] if words else "") + " "]
                continue
            if piece == "\\" and quote is None:  # a line continuation outside quotes
                continued = True
                continue
            was_quoted, quote = quote is not None, _quote_after(piece, quote)
            inside = any(depth.values())
            placed = False
            if quote is not None and not was_quoted and not inside:
                words.append(piece)  # a quote opens: a new word that the next pieces join
                placed = True
            elif inside or quote is not None or was_quoted:
                words[-1] += (" " if i > 0 else "") + piece
                placed = True
            for opener, closer in _BLOCKS:
                before = depth[opener]
                opened, closed = piece.count(opener), piece.count(closer)
                if opened != closed:
                    depth[opener] = max(0, before + opened - closed)
                if depth[opener] != before and not placed:
                    words.append(piece)
                    placed = True
            if not placed and piece and quote is None and not any(depth.values()):
                words.append(piece)
        if n < len(lines) - 1 and not continued:
            words[-1:] = [(words[-1] if words else "") + "\n"]
    if quote is not None or any(depth.values()):
        raise ValueError(f"-e {shown(item)}: an unclosed quote or {{{{ }}}}/{{% %}}/{{# #}} block")
    return words


def _quote_after(piece: str, quote: str | None) -> str | None:
    """The quote still open after `piece`, given the one open before it; `\\'` is no quote."""
    for k, char in enumerate(piece):
        if char in "'\"" and (k == 0 or piece[k - 1] != "\\"):
            if quote is None:
                quote = char
            elif char == quote:
                quote = None
    return quote


def _named(item: str, mapping: dict[Any, Any]) -> dict[str, Any]:
    """A mapping's variables; a key that cannot name a variable is bad input."""
    for key in mapping:
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"-e {shown(item)}: {key!r} is not a variable name")
    return mapping


# A name before `=`, the only part of a refused `-e` item an error may quote.
_SHOWN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?==)")


def shown(item: str) -> str:
    """A refused `-e` item as an error message may show it: its variable names, never a value.

    Any value on the command line may be a secret, and which ones are is known only once
    the playbook is read: `-e 'pw=correct horse'` must not print `horse`. A file (`@FILE`)
    is named by its path, an inline mapping as `{…}` (the error names the key at fault), and
    pairs by their names, each value (and each word that is not a pair) shown as `…`.
    """
    if item.startswith("@"):
        return item
    stripped = item.strip()
    if stripped.startswith(("{", "[")):
        return "{…}" if stripped.startswith("{") else "[…]"
    words = []
    for word in item.split():
        name = _SHOWN_NAME.match(word)
        words.append(f"{name.group(0)}=…" if name else "…")
    return repr(" ".join(words))
