"""Step kinds. `ACTIONS` maps the key a drill author writes to the action that runs it."""

from runner.actions.ansible_playbook import AnsibleAction
from runner.actions.base import Action, ActionArgError, ActionContext, ActionOutcome, PlannedAction
from runner.actions.checks import AssertAction, PauseAction
from runner.actions.command import CommandAction, ShellAction
from runner.actions.config import ConfigAction
from runner.actions.docker_container import DockerContainerAction
from runner.actions.docker_image import DockerImageAction
from runner.actions.fault import FaultAction
from runner.actions.flag import FlagAction, FlagFileAction
from runner.actions.http import HttpAction
from runner.actions.migrate import MigrateAction
from runner.actions.pip import PipAction
from runner.actions.release import ReleaseAction
from runner.actions.wait_for import WaitForAction

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        CommandAction(),
        ShellAction(),
        HttpAction(),
        WaitForAction(),
        AssertAction(),
        PauseAction(),
        DockerContainerAction(),
        DockerImageAction(),
        FaultAction(),
        ReleaseAction(),
        ConfigAction(),
        MigrateAction(),
        FlagAction(),
        FlagFileAction(),
        PipAction(),
        AnsibleAction(),
    )
}

__all__ = ["ACTIONS", "Action", "ActionArgError", "ActionContext", "ActionOutcome", "PlannedAction"]
