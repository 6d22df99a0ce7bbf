"""`drillctl new KIND NAME`: start a drill playbook from a template that lints clean and runs.

One template per component kind of the rollback procedures (and a network chaos drill),
each a copy of the example playbook of that kind: it runs as it is against the local lab
(the network drill against the Docker lab), so an author starts from a drill that passes
and changes it step by step, linting as they go.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from runner.errors import InputError

# kind -> what the drill rehearses (the template is runner/scaffolds/<kind>.yml).
KINDS: dict[str, str] = {
    "app-code": "redeploy the previous release (`release`, rollback: auto)",
    "db-schema": "run the down migration (`migrate` on SQLite, rollback: auto)",
    "config": "restore the previous configuration file (`config`, rollback: auto)",
    "feature-flag": "set a feature flag back (`flag.file`, rollback: auto)",
    "dependency": "pin the previous library version (`pip`, rollback: auto)",
    "infrastructure": "re-apply the previous infrastructure state (explicit rollback steps)",
    "network": "partition one instance and prove it heals (`fault`, Docker lab)",
}
# Inventory each template runs against as it is.
LAB_INVENTORY: dict[str, str] = {kind: "inventories/local.yml" for kind in KINDS} | {
    "network": "inventories/docker-lab.yml"
}
PLACEHOLDER = "__NAME__"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
COMMAND_LINE = "<command line>"


def template(kind: str) -> str:
    """The template text of one kind, placeholder and all."""
    if kind not in KINDS:
        known = ", ".join(KINDS)
        raise InputError.at(COMMAND_LINE, 1, 1, f"no scaffold kind {kind!r}; use one of: {known}")
    return (resources.files("runner") / "scaffolds" / f"{kind}.yml").read_text("utf-8")


def render(kind: str, name: str) -> str:
    """The playbook text for drill `name` of `kind`."""
    if not _NAME.match(name):
        raise InputError.at(
            COMMAND_LINE,
            1,
            1,
            f"drill name {name!r}: use letters, digits, '.', '_' and '-' (it names the file), "
            "starting with a letter or digit",
        )
    return template(kind).replace(PLACEHOLDER, name)


def write_scaffold(kind: str, name: str, directory: str | Path = "playbooks") -> Path:
    """Write `directory/name.yml`; refuse (InputError, exit 2) to overwrite an existing file."""
    text = render(kind, name)
    path = Path(directory) / f"{name}.yml"
    if path.exists():
        raise InputError.at(
            str(path), 1, 1, "already exists; drillctl new never overwrites: choose another NAME"
        )
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise InputError.at(str(folder), 1, 1, "--dir: not a directory; give a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:  # "x": no race with a file made meanwhile
            out.write(text)
    except FileExistsError:
        raise InputError.at(str(path), 1, 1, "already exists; choose another NAME") from None
    except OSError as exc:  # a file where a parent directory should be, no permission
        raise InputError.at(str(path), 1, 1, f"cannot write the playbook: {exc}") from None
    return path


def next_steps(kind: str, path: Path) -> str:
    """What to run after `drillctl new`, printed by the command line."""
    inventory = LAB_INVENTORY[kind]
    lines = [f"wrote {path}: a {kind} drill ({KINDS[kind]})", "next:"]
    if kind == "network":
        lines.append("  drillctl lab docker up")
    lines += [
        f"  drillctl lint {path} -i {inventory}",
        f"  drillctl run {path} -i {inventory}",
        "then replace the lab parts with your component's (the comments at the top say how)",
    ]
    return "\n".join(lines)
