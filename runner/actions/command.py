"""`command` and `shell`: run a program on the target, with or without a shell."""

from __future__ import annotations

import shlex
from typing import Any

from runner.actions.base import (
    ENV_SCHEMA,
    Action,
    ActionArgError,
    ActionContext,
    ActionOutcome,
    PlannedAction,
    outcome_from_command,
)
from runner.connections.base import CommandSpec
from runner.inventory.model import Host

_COMMON = {
    "chdir": {"type": "string", "description": "Working directory on the target."},
    "env": ENV_SCHEMA,
    "stdin": {"type": "string", "description": "Text fed to the command's standard input."},
}


def _env(args: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (args.get("env") or {}).items()}


class _ProcessAction(Action):
    """An action whose plan is a command on the target."""

    def execute(self, planned: PlannedAction, ctx: ActionContext) -> ActionOutcome:
        if planned.spec is None:
            raise RuntimeError(f"{self.name}: planned without a command")
        return outcome_from_command(
            self.connection(ctx).run(planned.spec, timeout=ctx.timeout, cancel=ctx.cancel)
        )


class CommandAction(_ProcessAction):
    name = "command"
    shorthand_key = "cmd"
    description = "Run a program without a shell (arguments split like a shell would)."
    schema = {
        "description": description,
        "examples": ["systemctl restart order-gateway", {"argv": ["/opt/app/bin/ctl", "stop"]}],
        "oneOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "cmd": {"type": "string", "description": "Command line, split shell-style."},
                    "argv": {
                        "type": "array",
                        "items": {"type": ["string", "number"]},
                        "minItems": 1,
                        "description": "Program and arguments, not split further.",
                    },
                    **_COMMON,
                },
            },
        ],
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        opts: dict[str, Any] = {"cmd": args} if isinstance(args, str) else dict(args)
        if "argv" in opts:
            argv = tuple(str(a) for a in opts["argv"])
        elif "cmd" in opts:
            try:
                argv = tuple(shlex.split(str(opts["cmd"])))
            except ValueError as exc:
                raise ActionArgError(f"cannot split command: {exc}") from None
        else:
            raise ActionArgError("command needs `cmd` or `argv`")
        if not argv:
            raise ActionArgError("command is empty")
        spec = CommandSpec(
            argv=argv, env=_env(opts), cwd=opts.get("chdir"), stdin=opts.get("stdin")
        )
        return PlannedAction(self.name, shlex.join(argv), spec)


class ShellAction(_ProcessAction):
    name = "shell"
    shorthand_key = "cmd"
    description = "Run a script with /bin/sh (pipes, redirects, `&&`); quote templated values."
    schema = {
        "description": description,
        "examples": ["./deploy.sh rollback --version={{ good | quote }}"],
        "oneOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["cmd"],
                "properties": {
                    "cmd": {"type": "string", "description": "The script."},
                    "executable": {
                        "type": "string",
                        "description": "Shell to use.",
                        "default": "/bin/sh",
                    },
                    **_COMMON,
                },
            },
        ],
    }

    def plan(self, args: Any, host: Host) -> PlannedAction:
        opts: dict[str, Any] = {"cmd": args} if isinstance(args, str) else dict(args)
        script = str(opts["cmd"])
        if not script.strip():
            raise ActionArgError("shell script is empty")
        spec = CommandSpec(
            shell=script,
            env=_env(opts),
            cwd=opts.get("chdir"),
            stdin=opts.get("stdin"),
            executable=str(opts.get("executable", "/bin/sh")),
        )
        return PlannedAction(self.name, script.strip(), spec)
