"""Preflight of a run: load, check and plan everything before any target is touched."""

from __future__ import annotations

import getpass
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.engine.notices import rendered_notify
from runner.engine.plan import DrillPlan, Planner
from runner.errors import InputError
from runner.inventory import Inventory, implicit_localhost, load_inventory
from runner.inventory.defaults import ConnectionDefaults, apply_defaults
from runner.inventory.environments import strictest_environment
from runner.notify.plan import NotifyPlan
from runner.playbook.loader import load_playbook
from runner.playbook.model import Playbook
from runner.provenance import Provenance
from runner.secrets import SecretMask
from runner.templating.templar import Templar
from runner.templating.variables import RunInfo
from runner.yamlpos import YamlDocument

if TYPE_CHECKING:
    # cryptography costs tens of milliseconds at start-up; only a signed run loads it.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEFAULT_RUNS_DIR = Path("drills/runs")


@dataclass(frozen=True)
class RunRequest:
    playbook: str
    inventory: str | None = None
    extra_vars: dict[str, Any] = field(default_factory=dict)
    limit: str | None = None
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    out: str | None = None
    operator: str = ""
    change_id: str = ""
    kind: str = "drill"  # or "incident": a real rollback, kept apart from drills in reports
    plan_entry: str = ""  # `2026Q4/<id>` when `drillctl drill run` makes the run
    verbose: int = 0
    allow_production: bool = False
    allow_irreversible: bool = False
    confirm: tuple[str, ...] = ()
    sign_key: str | None = None  # ed25519 private key (PEM) to sign the journal's head
    ignore_unrecovered: bool = False
    inventories: tuple[str, ...] = ()  # several `-i`, merged in order; wins over `inventory`
    forks: int | None = None  # `-f`: overrides the playbook's forks
    connection: ConnectionDefaults = field(default_factory=ConnectionDefaults)
    start_at_task: str | None = None
    diff: bool = False

    @property
    def inventory_files(self) -> tuple[str, ...]:
        """The inventory files given on the command line, in order (none: not given)."""
        return self.inventories or ((self.inventory,) if self.inventory else ())


@dataclass
class Prepared:
    """A run that passed preflight: nothing has touched a target yet."""

    request: RunRequest
    playbook: Playbook
    doc: YamlDocument
    inventory: Inventory
    templar: Templar
    run: RunInfo
    plan: DrillPlan
    inventory_file: str = ""  # as given with -i (several: comma-joined), or the playbook's
    inventory_files: tuple[str, ...] = ()  # each source file; empty for localhost
    provenance: Provenance | None = None
    sign_key: Ed25519PrivateKey | None = None
    notify: NotifyPlan | None = None  # the playbook's, channel URLs rendered

    @property
    def inventory_key(self) -> str:
        """The inventory's absolute path (locks, recover), or 'localhost' for the implicit one.

        With several sources, their absolute paths joined by commas (see `inventory_keys`)."""
        return ",".join(self.inventory_keys)

    @property
    def inventory_keys(self) -> tuple[str, ...]:
        """Each inventory source's absolute path, or ('localhost',): one lock each."""
        files = self.inventory_files or ((self.inventory_file,) if self.inventory_file else ())
        return tuple(str(Path(f).resolve()) for f in files) or ("localhost",)

    @property
    def mask(self) -> SecretMask:
        return self.templar.secrets


def new_run_id(playbook_path: str) -> str:
    """`<UTC second>-<playbook stem>-<6 random hex digits>`: readable, sortable by start, and
    unique however many runs start in one second, in one process or many."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(playbook_path).stem)
    return f"{stamp}-{stem}-{secrets.token_hex(3)}"


def prepare(request: RunRequest, *, run_dir: Path | None = None) -> Prepared:
    """Load and plan everything; raise InputError before any side effect."""
    playbook, doc = load_playbook(request.playbook)
    if request.forks is not None:
        playbook = replace(playbook, forks=request.forks)
    files = request.inventory_files or ((playbook.inventory,) if playbook.inventory else ())
    inventory = load_inventory(list(files)) if files else implicit_localhost()
    inventory = strictest_environment(inventory, files)
    inventory = apply_defaults(inventory, request.connection)
    inventory_path = ",".join(files)
    templar = Templar(SecretMask())
    for name in playbook.secrets:
        if name in request.extra_vars:
            templar.secrets.add(request.extra_vars[name])
    # A fresh id even with --out: a directory's name (`run`, `out`) says nothing unique.
    run_id = new_run_id(request.playbook)
    while run_dir is None and not request.out and (DEFAULT_RUNS_DIR / run_id).exists():
        run_id = new_run_id(request.playbook)
    run_dir = run_dir or (Path(request.out) if request.out else DEFAULT_RUNS_DIR / run_id)
    if request.out:
        _check_out(run_dir)
    run = RunInfo(
        run_id=run_id,
        run_dir=str(run_dir.resolve()),
        operator=request.operator or _operator(),
        change_id=request.change_id,
        environment=inventory.environment or "",
    )
    known = {item.id for item in playbook.checklists}
    for item_id in request.confirm:
        if item_id not in known:
            choices = ", ".join(sorted(known)) or "none: the playbook has no checklists"
            raise InputError.at(
                "<command line>", 1, 1, f"--confirm {item_id}: no such checklist item ({choices})"
            )
    planner = Planner(playbook, doc, inventory, templar, run, request.extra_vars)
    plan = planner.plan(
        limit=request.limit,
        tags=request.tags,
        skip_tags=request.skip_tags,
        start_at=request.start_at_task,
    )
    notify = rendered_notify(playbook, inventory, templar, request.extra_vars)
    key = _signing_key(request.sign_key) if request.sign_key else None
    return Prepared(
        request,
        playbook,
        doc,
        inventory,
        templar,
        run,
        plan,
        inventory_path,
        files,
        sign_key=key,
        notify=notify,
    )


def _check_out(run_dir: Path) -> None:
    """`--out DIR` that cannot become this run's directory is bad input, refused here, before
    the inventory is locked or a host is connected to: a file, or a directory with files."""
    if run_dir.is_dir():
        if any(run_dir.iterdir()):
            raise InputError.at(str(run_dir), 1, 1, "run directory exists and is not empty")
    elif run_dir.exists() or run_dir.is_symlink():
        raise InputError.at(
            str(run_dir), 1, 1, "--out: exists and is not a directory; give a new directory"
        )


def _signing_key(path: str) -> Ed25519PrivateKey:
    """The key for `--sign-key`, loaded before anything runs: a bad key is bad input."""
    from runner.signing import KeyFileError, load_private_key

    try:
        return load_private_key(Path(path))
    except KeyFileError as exc:
        raise InputError.at(path, 1, 1, f"--sign-key: {exc}") from None


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
