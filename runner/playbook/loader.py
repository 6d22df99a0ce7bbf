"""Load a playbook file into the model, reporting every problem with its position."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runner.actions import ACTIONS
from runner.durations import parse_duration, schema_refuses
from runner.errors import Diagnostic, InputError
from runner.measure.specs import DEFAULT_MEASURE_FROM
from runner.notify.plan import NotifyPlan, NotifyPlanError, parse_notify
from runner.playbook.checklists import parse_checklists
from runner.playbook.model import PHASES, Decision, Location, Objectives, Playbook, Step
from runner.playbook.probe_loader import load_probes
from runner.playbook.schema import playbook_schema
from runner.playbook.step_schema import STEP_KEYWORDS
from runner.templating.templar import checking_templar
from runner.validation import validate_document
from runner.yamlpos import YamlDocument, load_yaml

_SCHEMA = playbook_schema()


def load_playbook(path: str | Path, text: str | None = None) -> tuple[Playbook, YamlDocument]:
    """Parse, validate and build a playbook; raise InputError listing all problems."""
    doc = load_yaml(path, text, strict=False)
    playbook, diags = analyse(doc)
    if diags or playbook is None:
        raise InputError(diags)
    return playbook, doc


def analyse(doc: YamlDocument) -> tuple[Playbook | None, list[Diagnostic]]:
    """Build what can be built and list every problem found on the way."""
    diags: list[Diagnostic] = list(doc.problems)
    if not isinstance(doc.value, dict):
        got = "an empty file" if doc.value is None else f"a {type(doc.value).__name__}"
        diags.append(doc.diag((), f"a playbook is a mapping with `drill:` and phases, got {got}"))
        return None, diags
    diags.extend(validate_document(doc, _SCHEMA, _may_be_templated))
    builder = _Builder(doc)
    playbook = builder.build()
    diags.extend(builder.diags)
    return playbook, sorted(set(diags))


class _Builder:
    """Builds the model tolerantly: parts the schema rejected are skipped, not fatal."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.value
        self.diags: list[Diagnostic] = []
        self.templar = checking_templar()
        self.probes, self.triggers, probe_diags = load_probes(doc, self.data)
        self.diags.extend(probe_diags)

    def build(self) -> Playbook:
        d = self.data
        phases = {p: self.steps(p) for p in PHASES}
        rollback_type = d.get("rollback_type")
        return Playbook(
            path=self.doc.path,
            drill=str(d.get("drill", "")),
            rollback_type=rollback_type
            if isinstance(rollback_type, int) and 1 <= rollback_type <= 5
            else 2,
            component=str(d.get("component", "")),
            description=str(d.get("description", "")),
            objectives=self.objectives(),
            hosts=str(d.get("hosts", "all")),
            vars=_mapping(d.get("vars")),
            secrets=tuple(s for s in d.get("secrets") or () if isinstance(s, str)),
            forks=d["forks"] if isinstance(d.get("forks"), int) and d["forks"] > 0 else 10,
            serial=d.get("serial"),
            max_fail_percentage=float(d.get("max_fail_percentage", 0))
            if isinstance(d.get("max_fail_percentage"), (int, float))
            else 0.0,
            rollback_when=str(d.get("rollback_when", "always")),
            rollback_auto=d.get("rollback") == "auto",
            decision=self.decision(),
            probes=self.probes,
            triggers=self.triggers,
            measure_from=str(d.get("measure_from", DEFAULT_MEASURE_FROM)),
            phases=phases,
            checklists=parse_checklists(d.get("checklists")),
            notify=self.notify(),
            inventory=_relative_to(self.doc.path, d.get("inventory")),
        )

    def duration(self, path: tuple[str | int, ...], value: Any) -> float | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            # What the schema accepts and still is no duration (NaN, 400 digits, a string
            # of units too large) is reported here: dropped, it would leave an objective or
            # a timeout unset, and a drill with no RTO objective can pass.
            if not schema_refuses(value):
                self.diags.append(self.doc.diag(path, f"{'.'.join(map(str, path))}: {exc}"))
            return None  # other bad values: the schema has reported them, located

    def objectives(self) -> Objectives:
        o = self.data.get("objectives")
        if not isinstance(o, dict):
            return Objectives()
        return Objectives(
            self.duration(("objectives", "rto"), o.get("rto")),
            self.duration(("objectives", "rpo"), o.get("rpo")),
        )

    def notify(self) -> NotifyPlan | None:
        """`notify:` checked beyond the schema (a stakeholder naming an unknown channel)."""
        data = self.doc.value.get("notify") if isinstance(self.doc.value, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("channels"), dict):
            return None  # absent, or the schema has reported it, located
        try:
            return parse_notify(data)
        except NotifyPlanError as exc:
            self.diags.append(self.doc.diag(exc.path, str(exc)))
            return None

    def decision(self) -> Decision:
        d = self.data.get("decision")
        if isinstance(d, dict) and d.get("manual") is True:
            return Decision(
                True,
                self.duration(("decision", "timeout"), d.get("timeout")),
                str(d.get("on_timeout", "rollback")),
                d["approvers"] if isinstance(d.get("approvers"), int) else 1,
            )
        return Decision()

    def steps(self, phase: str) -> tuple[Step, ...]:
        raw = self.data.get(phase)
        if not isinstance(raw, list):
            return ()
        steps = []
        for i, item in enumerate(raw):
            if isinstance(item, dict):
                step = self.step(phase, i, item)
                if step is not None:
                    steps.append(step)
        return tuple(steps)

    def step(self, phase: str, index: int, raw: dict[str, Any]) -> Step | None:
        path: tuple[str | int, ...] = (phase, index)
        actions = [k for k in raw if k in ACTIONS]
        if len(actions) != 1:
            known = ", ".join(sorted(ACTIONS))
            unknown = [k for k in raw if k not in ACTIONS and k not in STEP_KEYWORDS]
            if not actions and not unknown:
                self.diags.append(self.doc.diag(path, f"step has no action; use one of: {known}"))
            elif len(actions) > 1:
                self.diags.append(
                    self.doc.diag(
                        (*path, actions[1]),
                        f"a step takes exactly one action, found {', '.join(actions)}",
                        at_key=True,
                    )
                )
            return None
        action = actions[0]
        mark = self.doc.mark(path)
        self.check_templates(raw, path, action)
        when = raw.get("when", ())
        tags = raw.get("tags", ())
        return Step(
            phase=phase,
            index=index,
            name=str(raw.get("name") or f"{action}"),
            action=action,
            args=raw[action],
            location=Location(self.doc.path, mark.line, mark.col),
            hosts=raw.get("hosts"),
            when=tuple(when) if isinstance(when, list) else (when,) if when != () else (),
            register=raw.get("register"),
            retries=raw.get("retries", 0) if isinstance(raw.get("retries", 0), int) else 0,
            until=raw.get("until"),
            delay_s=self.duration((*path, "delay"), raw.get("delay", 1)) or 0.0,
            timeout_s=self.duration((*path, "timeout"), raw.get("timeout")),
            ignore_errors=raw.get("ignore_errors") is True,
            tags=tuple(tags) if isinstance(tags, list) else (str(tags),) if tags else (),
            loop=raw.get("loop"),
            run_once=raw.get("run_once") is True,
            become=raw["become"] if isinstance(raw.get("become"), bool) else None,
            become_user=str(raw["become_user"]) if raw.get("become_user") else None,
            yaml_path=path,
        )

    def check_templates(
        self, raw: dict[str, Any], path: tuple[str | int, ...], action: str
    ) -> None:
        """Template syntax errors are found at load time, located at the string."""
        for key, value in raw.items():
            for sub_path, text in strings_in(value, (*path, key)):
                expression = is_expression(action, sub_path[len(path) :])
                problem = self.templar.check_syntax(text, expression=expression)
                if problem is not None:
                    self.diags.append(self.doc.diag(sub_path, str(problem)))


def _may_be_templated(path: Sequence[str | int]) -> bool:
    """Action arguments and probe requests are rendered before use; step keywords and probe
    intervals are not (the engine reads them before it renders anything)."""
    if path and path[0] == "probes":
        # Timings are scheduled before anything is rendered: never templates.
        timing = path[-1] in ("timeout", "deadline") and path[-2] in ("http", "write", "read")
        return len(path) >= 3 and path[2] in ("http", "tcp", "command", "data") and not timing
    return len(path) >= 3 and path[0] in PHASES and path[2] in ACTIONS


def _relative_to(playbook_path: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    return str(Path(playbook_path).parent / value)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_expression(action: str, rel_path: tuple[str | int, ...]) -> bool:
    """Whether the string at `rel_path` inside a step is a bare Jinja expression."""
    key = rel_path[0]
    if key in ("when", "until"):
        return True
    if key != action:
        return False
    spec = ACTIONS[action]
    inner = rel_path[1] if len(rel_path) > 1 else spec.shorthand_key
    return inner in spec.expression_keys


def strings_in(value: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every string inside a value, with its document path."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings_in(v, (*path, k))]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in strings_in(v, (*path, i))]
    return []
