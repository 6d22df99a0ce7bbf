"""Guards before a drill touches anything: production, irreversible changes, one drill at a time."""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from runner.errors import InputError, TargetEnvironmentError
from runner.inventory import Inventory
from runner.journal import utc_now
from runner.playbook.model import Playbook


@dataclass(frozen=True)
class Permissions:
    allow_production: bool = False
    allow_irreversible: bool = False
    change_id: str = ""


def check_guards(playbook: Playbook, inventory: Inventory, allowed: Permissions) -> None:
    """Refuse (exit 2) what needs an explicit flag; say which flag."""
    if (inventory.environment or "").lower() in ("production", "prod"):
        missing = [
            flag
            for flag, given in (
                ("--allow-production", allowed.allow_production),
                ("--change-id", allowed.change_id),
            )
            if not given
        ]
        if missing:
            raise InputError.at(
                inventory.path,
                1,
                1,
                f"this inventory is marked environment: {inventory.environment}; "
                f"a drill against it needs {' and '.join(missing)}",
            )
    if playbook.rollback_type == 5 and playbook.steps("deploy") and not allowed.allow_irreversible:
        raise InputError.at(
            playbook.path,
            1,
            1,
            "rollback_type 5 is a point of no return: its deploy cannot be rolled back; "
            "run it only with --allow-irreversible",
        )


def lock_dir() -> Path:
    return Path(
        os.environ.get("DRILLCTL_LOCK_DIR") or Path.home() / ".cache" / "drillctl" / "locks"
    )


class InventoryLock:
    """An exclusive lock per inventory, held for the whole run (freed by the kernel on a crash)."""

    def __init__(self, inventory_key: str, run_id: str, operator: str) -> None:
        digest = hashlib.sha256(inventory_key.encode()).hexdigest()[:16]
        self.path = lock_dir() / f"{digest}.lock"
        self.key = inventory_key
        self.run_id = run_id
        self.operator = operator
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = _holder(f.read())
            f.close()
            raise TargetEnvironmentError(
                f"another drill holds the lock on {self.key}: {holder}; wait for it to finish"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(
            json.dumps(
                {
                    "operator": self.operator or getpass.getuser(),
                    "pid": os.getpid(),
                    "run_id": self.run_id,
                    "since": utc_now(),
                    "inventory": self.key,
                }
            )
        )
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"{info['operator']} (pid {info['pid']}, run {info['run_id']}) since {info['since']}"
    except (ValueError, KeyError, TypeError):
        return "an unknown process"
