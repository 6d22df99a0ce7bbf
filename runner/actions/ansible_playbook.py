"""`ansible`: run an existing Ansible playbook against the step's host, as one timed step.

drillctl writes a temporary inventory holding exactly that host, with its connection
(address, port, user, key file) and its variables, and runs `ansible-playbook` on the
controller; Ansible connects to the host itself. Host keys stay strictly checked against the
host's own known_hosts file. A small callback plugin shipped with drillctl
(runner/ansible_plugins) writes one JSON line per task result; each becomes an `ansible_task`
journal event. A failed task fails the step, and so does a playbook that ran no task on the
host: a deploy that did nothing proves nothing.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner import vault
from runner.actions.base import (
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
)
from runner.connections.base import CommandSpec
from runner.connections.local import LocalConnection
from runner.errors import TargetEnvironmentError
from runner.inventory.model import Host
from runner.journal_events import Event
from runner.secrets import cut_tail
from runner.templating.variables import MAGIC_NAMES

PLUGINS = Path(__file__).resolve().parent.parent / "ansible_plugins" / "callback"
CALLBACK = "drillctl_tasks"
PROGRAM = "ansible-playbook"
PROGRAM_VARIABLE = "DRILLCTL_ANSIBLE_PLAYBOOK"
OUTPUT_KEEP = 20_000

# drillctl's own names (those every template sees, and the inventory's connection fields):
# they reach Ansible as its connection variables, or not at all.
_OWN_NAMES = MAGIC_NAMES | frozenset(
    {
        "item",
        "environment",  # the inventory's environment; a reserved word in Ansible
        "connection",
        "address",
        "port",
        "user",
        "ssh_key_file",
        "known_hosts",
        "host_key_checking",
        "password",
    }
)


def playbook_exists(path: str) -> bool:
    """Whether `path` names a file; a name the file system cannot hold (too long) does not."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def find_ansible_playbook() -> str | None:
    """`ansible-playbook`: $DRILLCTL_ANSIBLE_PLAYBOOK, beside this Python (a virtualenv), or
    on PATH."""
    chosen = os.environ.get(PROGRAM_VARIABLE)
    if chosen:
        return chosen if Path(chosen).is_file() else None
    beside = Path(sys.executable).parent / PROGRAM
    if beside.is_file():
        return str(beside)
    return shutil.which(PROGRAM)


class AnsibleAction(Action):
    name = "ansible"
    shorthand_key = "playbook"
    controller_side = True  # ansible-playbook connects to the host itself
    description = (
        "Run an existing Ansible playbook against the step's host (ansible-playbook on the "
        "controller, with a temporary inventory of that host); each task result is journalled."
    )
    schema = {
        "description": description,
        "examples": [
            "playbooks/ansible/deploy.yml",
            {"playbook": "deploy.yml", "extra_vars": {"version": "2.4.1"}, "tags": ["app"]},
        ],
        "oneOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["playbook"],
                "properties": {
                    "playbook": {
                        "type": "string",
                        "minLength": 1,
                        "description": "The Ansible playbook (relative to the working directory).",
                    },
                    "extra_vars": {
                        "type": "object",
                        "description": "Variables given with `-e` (highest precedence in Ansible).",
                    },
                    "tags": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Run only the playbook's tasks with these tags.",
                        "examples": [["app"]],
                    },
                    "skip_tags": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Skip the playbook's tasks with these tags.",
                        "examples": [["slow"]],
                    },
                },
            },
        ],
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        opts: dict[str, Any] = {"playbook": args} if isinstance(args, str) else dict(args)
        playbook = str(opts.get("playbook") or "")
        if not playbook:
            raise ActionArgError("ansible needs `playbook`")
        if not playbook_exists(playbook):
            raise ActionArgError(f"Ansible playbook {playbook} not found")
        if host.connection not in ("ssh", "local"):
            raise ActionArgError(
                f"ansible steps reach SSH and local hosts; {host.name} is a {host.connection} host"
            )
        program = find_ansible_playbook()
        if program is None:
            raise TargetEnvironmentError(
                f"{PROGRAM} is not installed (pip install 'drillctl[ansible]' or ansible-core), "
                f"or ${PROGRAM_VARIABLE} names no file"
            )
        argv = [program, playbook]
        tags = [str(t) for t in opts.get("tags") or ()]
        skip = [str(t) for t in opts.get("skip_tags") or ()]
        if tags:
            argv += ["--tags", ",".join(tags)]
        if skip:
            argv += ["--skip-tags", ",".join(skip)]
        extra = opts.get("extra_vars") or {}
        if not isinstance(extra, Mapping):
            raise ActionArgError("extra_vars must be a mapping of variable names to values")
        summary = f"{shlex.join([PROGRAM, playbook, *argv[2:]])}  (inventory: {host.name} only)"
        return PlannedAction(
            self.name, summary, None, {"argv": tuple(argv), "extra_vars": dict(extra)}
        )

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        work = Path(tempfile.mkdtemp(prefix="drillctl-ansible-"))  # mode 0700: vars are secret
        try:
            return self._run(planned, ctx, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _run(self, planned: PlannedAction, ctx: ActionContext, work: Path) -> ActionOutcome:
        inventory = work / "inventory.json"
        _write_private(inventory, json.dumps(temporary_inventory(ctx.host, ctx.variables)))
        extra = work / "extra_vars.json"
        _write_private(extra, json.dumps(planned.params["extra_vars"], default=str))
        tasks_log = work / "tasks.jsonl"
        argv = (*planned.params["argv"], "-i", str(inventory), "-e", f"@{extra}")
        secret = vault.password()
        if secret is not None:  # the playbook's own vars files may be vault-encrypted too
            password_file = work / "vault-password"
            password_file.touch(mode=0o600)
            password_file.write_bytes(secret)
            argv = (*argv, "--vault-password-file", str(password_file))
        env = {
            "ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS),
            "ANSIBLE_CALLBACKS_ENABLED": CALLBACK,
            "DRILLCTL_TASK_LOG": str(tasks_log),
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(work / "tmp"),
            # No ssh master left running after the playbook: every connection ends with it.
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none",
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        }
        result = LocalConnection().run(
            CommandSpec(argv=tuple(argv), env=env), timeout=ctx.timeout, cancel=ctx.cancel
        )
        tasks = _read_tasks(tasks_log)
        if ctx.record is not None:
            for task in tasks:
                ctx.record(Event.ANSIBLE_TASK, **task)
        failed = [t for t in tasks if t["status"] in ("failed", "unreachable")]
        ok = result.rc == 0 and not result.timed_out and not result.cancelled
        if result.timed_out:
            msg = f"timed out after {result.duration_s:.1f}s; ansible-playbook's group killed"
        elif result.cancelled:
            msg = "interrupted"
        elif failed:
            first = failed[0]
            msg = f"task {first['task']!r} {first['status']}: {first['msg']}".strip()
        elif result.rc != 0:
            msg = f"ansible-playbook exit code {result.rc}"
        elif not tasks:
            ok = False
            msg = f"the playbook ran no task on {ctx.host.name} (does its `hosts:` match it?)"
        else:
            changed = sum(1 for t in tasks if t["changed"])
            msg = f"{len(tasks)} task results, {changed} changed"
        return ActionOutcome(
            ok=ok and not failed,
            msg=msg,
            rc=result.rc,
            stdout=cut_tail(result.stdout, OUTPUT_KEEP),
            stderr=cut_tail(result.stderr, OUTPUT_KEEP),
            data={"tasks": tasks},
            timed_out=result.timed_out,
            cancelled=result.cancelled,
        )


def temporary_inventory(host: Host, variables: Mapping[str, Any]) -> dict[str, Any]:
    """An Ansible inventory of `host` alone: its variables and how to reach it."""
    from runner.connections.ssh_settings import SshSettings

    own = {
        name: value for name, value in variables.items() if name not in _OWN_NAMES and _plain(value)
    }
    if host.connection == "local":
        own.update({"ansible_connection": "local", "ansible_python_interpreter": sys.executable})
    else:
        settings = SshSettings.for_host(host)
        checking = [
            f"-o UserKnownHostsFile={shlex.quote(str(settings.known_hosts))}",
            "-o GlobalKnownHostsFile=/dev/null",
            "-o StrictHostKeyChecking=yes",
            "-o BatchMode=yes",
        ]
        own.update(
            {
                "ansible_connection": "ssh",
                "ansible_host": settings.address,
                "ansible_port": settings.port,
                "ansible_ssh_common_args": " ".join(checking),
                "ansible_ssh_timeout": math.ceil(settings.connect_timeout),
            }
        )
        if settings.user:
            own["ansible_user"] = settings.user
        if settings.key_files:
            own["ansible_ssh_private_key_file"] = settings.key_files[0]
    return {"all": {"hosts": {host.name: own}}}


def _plain(value: Any) -> bool:
    """Whether `value` is plain data Ansible can take (not a sealed vault value or a stand-in)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600)
    path.write_text(text, encoding="utf-8")


def _read_tasks(path: Path) -> list[dict[str, Any]]:
    """The callback's lines; a torn last line (the process was killed) is left out."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    tasks = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            tasks.append(item)
    return tasks
