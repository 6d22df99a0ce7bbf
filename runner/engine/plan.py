"""Preflight: select hosts, resolve variables and plan every step before touching anything.

`drillctl plan` and `run --check` print this plan; `drillctl run` refuses to start
when it finds a problem, so bad input never changes a target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from runner.actions import ACTIONS, ActionArgError
from runner.actions.http import plan_http
from runner.engine.start_at import start_at_task
from runner.engine.steps import render_args
from runner.errors import Diagnostic, InputError
from runner.inventory import Inventory, PatternError
from runner.inventory.model import Host
from runner.inventory.patterns import select_hosts as match_pattern
from runner.measure.specs import ProbeSpec
from runner.playbook.model import PHASES, Playbook, Step
from runner.secrets import CONNECTION_SECRETS
from runner.templating.templar import Templar, TemplateError
from runner.templating.variables import (
    Deferred,
    RunInfo,
    VariableError,
    magic_vars,
    resolve_host_vars,
)
from runner.urls import url_problem, without_credentials
from runner.yamlpos import YamlDocument


@dataclass(frozen=True)
class HostPlan:
    host: str
    summary: str
    note: str = ""


@dataclass(frozen=True)
class StepPlan:
    step: Step
    hosts: tuple[Host, ...]
    per_host: tuple[HostPlan, ...]


@dataclass(frozen=True)
class DrillPlan:
    playbook: Playbook
    steps: dict[str, tuple[StepPlan, ...]]
    host_vars: dict[str, dict[str, Any]]
    probe_hosts: dict[str, tuple[Host, ...]] = field(default_factory=dict)
    # Labels of the steps `--start-at-task` skipped (journaled as such).
    skipped_steps: tuple[str, ...] = ()

    def all_hosts(self) -> list[Host]:
        seen: dict[str, Host] = {}
        for plans in self.steps.values():
            for plan in plans:
                for h in plan.hosts:
                    seen.setdefault(h.name, h)
        return list(seen.values())

    def touched_hosts(self) -> list[Host]:
        """Every host a step or a probe of the drill reaches, each once, the steps' first."""
        seen = {h.name: h for h in self.all_hosts()}
        for hosts in self.probe_hosts.values():
            for h in hosts:
                seen.setdefault(h.name, h)
        return list(seen.values())


# Ansible's special tags: `always` runs unless skipped by name, `never` only when asked for,
# `all` asks for every step but the `never` ones.
SPECIAL_TAGS = ("always", "never", "all")
# The change under test: what --tags may pick from.
CHANGE_PHASES = ("deploy", "inject")
# Once a change ran these undo and check it, so tags never select them away: a drill whose
# rollback, verify or cleanup was skipped by a tag would prove nothing (and leave debris).
PROTECTED_PHASES = ("rollback", "verify", "cleanup")


def known_tags(playbook: Playbook) -> list[str]:
    """Every tag a step of the playbook carries, plus Ansible's special ones, sorted."""
    return sorted({t for s in playbook.all_steps() for t in s.tags} | set(SPECIAL_TAGS))


def check_tags(playbook: Playbook, tags: Iterable[str], skip_tags: Iterable[str]) -> None:
    """A tag no step carries is a typo, and would silently select nothing: bad input."""
    known = set(known_tags(playbook))
    diags = [
        Diagnostic(
            "<command line>",
            1,
            1,
            f"{option} {tag}: no step of {playbook.path} has this tag "
            f"(known tags: {', '.join(known_tags(playbook))})",
        )
        for option, given in (("--tags", tags), ("--skip-tags", skip_tags))
        for tag in given
        if tag not in known
    ]
    if diags:
        raise InputError(diags)


def select_steps(
    playbook: Playbook, tags: Iterable[str], skip_tags: Iterable[str]
) -> dict[str, list[Step]]:
    """The steps a run executes: tags select in prepare, deploy and inject (as in Ansible);
    rollback, verify and cleanup always run whole."""
    wanted, skipped = set(tags), set(skip_tags)
    check_tags(playbook, wanted, skipped)

    def selected(step: Step) -> bool:
        mine = set(step.tags)
        if mine & skipped:
            return False
        if "always" in mine:
            return True
        if "never" in mine:
            return bool(mine & (wanted - {"never"})) or "never" in wanted
        return not wanted or "all" in wanted or bool(mine & wanted)

    return {
        p: [s for s in playbook.steps(p) if p in PROTECTED_PHASES or selected(s)] for p in PHASES
    }


def select_hosts(inventory: Inventory, pattern: str, allowed: frozenset[str] | None) -> list[Host]:
    """The hosts `pattern` matches, kept to the `allowed` names (--limit) when there is one."""
    hosts = match_pattern(inventory, pattern)
    return hosts if allowed is None else [h for h in hosts if h.name in allowed]


class Planner:
    def __init__(
        self,
        playbook: Playbook,
        doc: YamlDocument,
        inventory: Inventory,
        templar: Templar,
        run: RunInfo,
        extra_vars: dict[str, Any],
    ) -> None:
        self.playbook = playbook
        self.doc = doc
        self.inventory = inventory
        self.templar = templar
        self.run = run
        self.extra_vars = extra_vars
        self.diags: list[Diagnostic] = []
        self.registers = {s.register for s in playbook.all_steps() if s.register}
        self.templar.secret_results |= self.registers & (
            set(playbook.secrets) | _marked_secret(self.templar, playbook)
        )

    def plan(
        self,
        *,
        limit: str | None = None,
        tags: Iterable[str] = (),
        skip_tags: Iterable[str] = (),
        start_at: str | None = None,
    ) -> DrillPlan:
        allowed = None
        if limit:  # matched once for every step and probe
            try:
                allowed = frozenset(h.name for h in match_pattern(self.inventory, limit))
            except PatternError as exc:  # the command line's mistake, not the playbook's
                raise InputError.at("<command line>", 1, 1, f"--limit {limit}: {exc}") from None
        steps, skipped = start_at_task(
            self.playbook, select_steps(self.playbook, tags, skip_tags), start_at
        )
        host_sets = {p: [(s, self._hosts(s, limit, allowed)) for s in steps[p]] for p in PHASES}
        probe_hosts = {
            name: tuple(self._probe_hosts(name, spec, allowed))
            for name, spec in self.playbook.probes.items()
        }
        every_host = {h.name: h for p in PHASES for _, hs in host_sets[p] for h in hs}
        every_host.update({h.name: h for hs in probe_hosts.values() for h in hs})
        self.diags.extend(self.inventory.problems_of(every_host.values()))
        host_vars = {name: self._vars(h) for name, h in every_host.items()}
        plans = {p: tuple(self._step(s, hs, host_vars) for s, hs in host_sets[p]) for p in PHASES}
        for name, hosts in probe_hosts.items():
            for host in hosts:
                self._check_probe(name, host, host_vars[host.name])
        self._check_alerts(next(iter(host_vars.values()), {}))
        if self.diags:
            # Messages quote rendered values (a URL, a missing key): mask what is secret.
            # Steps that share the playbook's `hosts:` share its finding: say it once.
            mask = self.templar.secrets.mask
            found = dict.fromkeys(replace(d, message=mask(d.message)) for d in self.diags)
            raise InputError(list(found))
        return DrillPlan(self.playbook, plans, host_vars, probe_hosts, skipped)

    def _hosts(self, step: Step, limit: str | None, allowed: frozenset[str] | None) -> list[Host]:
        pattern = step.hosts or self.playbook.hosts
        where = (*step.yaml_path, "hosts") if step.hosts else ("hosts",)
        try:
            hosts = select_hosts(self.inventory, pattern, allowed)
        except PatternError as exc:
            self.diags.append(self.doc.diag(where, str(exc)))
            return []
        if not hosts:
            extra = f" within --limit {limit!r}" if limit else ""
            self.diags.append(
                self.doc.diag(where, f"host pattern {pattern!r} matches no host{extra}")
            )
        return hosts

    def _probe_hosts(
        self, name: str, spec: ProbeSpec, allowed: frozenset[str] | None
    ) -> list[Host]:
        pattern = spec.hosts or self.playbook.hosts
        try:
            return select_hosts(self.inventory, pattern, allowed)
        except PatternError as exc:
            self.diags.append(self.doc.diag(("probes", name, "hosts"), str(exc)))
            return []

    def _check_alerts(self, variables: dict[str, Any]) -> None:
        """Alert triggers' source URLs as they will be requested (rendered as the monitor
        renders them, with the first host's variables)."""
        for index, rule in enumerate(self.playbook.triggers):
            if rule.kind == "alert":
                problem = self._url_problem(rule.url, variables)
                if problem:
                    path = ("triggers", index, rule.source)
                    self.diags.append(self.doc.diag(path, f"alert {rule.alert}: {problem}"))

    def _url_problem(self, template: Any, variables: dict[str, Any]) -> str | None:
        """Why a templated URL cannot be requested once rendered, or None."""
        try:
            url = str(self.templar.render(template, variables))
        except TemplateError as exc:
            return str(exc)
        problem = url_problem(url)
        return problem and f"url {without_credentials(url)!r} {problem}"

    def _check_probe(self, name: str, host: Host, variables: dict[str, Any]) -> None:
        """An availability probe's request as it will be made: a URL that cannot be
        requested is bad input now, not a probe that fails every sample later."""
        probe = self.playbook.probes[name]
        if probe.kind == "prometheus" and isinstance(probe.request, dict):
            problem = self._url_problem(probe.request.get("url", ""), variables)
            if problem:
                where = ("probes", name, "prometheus", "url")
                self.diags.append(self.doc.diag(where, f"probe {name} on {host.name}: {problem}"))
            return
        if probe.kind != "http" or not isinstance(probe.request, dict):
            return
        try:
            plan_http(self.templar.render(probe.request, variables))
        except (TemplateError, ActionArgError) as exc:
            self.diags.append(
                self.doc.diag(("probes", name, "http"), f"probe {name} on {host.name}: {exc}")
            )

    def _vars(self, host: Host) -> dict[str, Any]:
        layers = [host.vars, self.playbook.vars, self.extra_vars]
        magic = magic_vars(host, self.inventory, self.playbook, self.run)
        try:
            secret = (*self.playbook.secrets, *CONNECTION_SECRETS)
            return resolve_host_vars(self.templar, host, layers, magic, secret)
        except VariableError as exc:
            if exc.name in self.extra_vars:
                # -e wins over every other layer: the value that failed is the one given on
                # the command line, which has no place in the playbook to point at.
                self.diags.append(Diagnostic("<command line>", 1, 1, f"-e {exc.name}: {exc}"))
                return dict(magic)
            if exc.name not in self.playbook.vars and exc.name in host.vars and self.inventory.path:
                # The inventory's value (its line is not kept after merging): name its file,
                # not the playbook, which does not hold it.
                self.diags.append(
                    Diagnostic(self.inventory.path, 1, 1, f"{exc} (set in the inventory)")
                )
                return dict(magic)
            path: tuple[str | int, ...] = (
                ("vars", exc.name) if exc.name in self.playbook.vars else ()
            )
            self.diags.append(self.doc.diag(path, str(exc)))
            return dict(magic)

    def _step(
        self, step: Step, hosts: list[Host], host_vars: dict[str, dict[str, Any]]
    ) -> StepPlan:
        targets = hosts[:1] if step.run_once else hosts
        per_host = []
        for host in targets:
            variables = {**host_vars[host.name], **{r: Deferred(r) for r in self.registers}}
            per_host.append(self._host(step, host, variables))
        return StepPlan(step, tuple(hosts), tuple(per_host))

    def _host(self, step: Step, host: Host, variables: dict[str, Any]) -> HostPlan:
        notes = []
        if step.become and host.connection != "ssh":
            # sudo is an SSH host's; running the step without it would hide the difference.
            self.diags.append(
                self.doc.diag(
                    (*step.yaml_path, "become"),
                    f"{step.label} on {host.name}: become needs an SSH host "
                    f"(this one is {host.connection})",
                )
            )
            return HostPlan(host.name, "", "error")
        try:
            for condition in step.when:
                if self._uses_registered(condition):
                    notes.append(f"when {condition} (decided at run time)")
                elif not self.templar.evaluate(condition, variables):
                    return HostPlan(host.name, "", f"skipped: when {condition} is false")
            items: list[Any] = [None]
            if isinstance(step.loop, list):
                items = step.loop
            elif isinstance(step.loop, str):
                if self._uses_registered(step.loop):
                    notes.append("loop items decided at run time")
                    items = [Deferred("item")]
                else:
                    items = list(self.templar.evaluate(step.loop, variables))
            summaries = []
            for item in items:
                item_vars = variables if step.loop is None else {**variables, "item": item}
                args = render_args(step, item_vars, self.templar)
                planned = ACTIONS[step.action].plan(args, host)
                if step.action == "assert":
                    problem = self._undefined_in_assert(step, host, item_vars)
                    if problem is not None:
                        self.diags.append(problem)
                        return HostPlan(host.name, "", "error")
                summaries.append(planned.summary)
        except (TemplateError, ActionArgError, TypeError) as exc:
            self.diags.append(
                self.doc.diag((*step.yaml_path, step.action), f"{step.label} on {host.name}: {exc}")
            )
            return HostPlan(host.name, "", "error")
        if step.retries:
            notes.append(f"up to {1 + step.retries} attempts")
        if step.timeout_s:
            notes.append(f"timeout {step.timeout_s:g}s")
        return HostPlan(host.name, "\n".join(summaries), "; ".join(notes))

    def _undefined_in_assert(
        self, step: Step, host: Host, variables: dict[str, Any]
    ) -> Diagnostic | None:
        """An assert's expressions are evaluated only when the step runs: a name nothing
        defines (a typo) would fail verify after the change and its rollback had run. It is
        bad input, found here and located at the expression, as one in `when` is."""
        known = variables.keys() | self.templar.env.globals.keys()
        raw = step.args
        that = raw.get("that") if isinstance(raw, dict) else raw
        located: list[tuple[tuple[str | int, ...], Any]] = (
            [(("that", i), e) for i, e in enumerate(that)]
            if isinstance(that, list)
            else [(("that",) if isinstance(raw, dict) else (), that)]
        )
        for where, expression in located:
            if not isinstance(expression, str):
                continue
            try:
                used = self.templar.variables_required(expression, expression=True)
            except TemplateError:
                continue  # a syntax error: the loader has reported it
            missing = sorted(used - known)
            if missing:
                return self.doc.diag(
                    (*step.yaml_path, step.action, *where),
                    f"{step.label} on {host.name}: undefined variable: {missing[0]!r} is undefined",
                )
        return None

    def _uses_registered(self, expression: str | bool) -> bool:
        if isinstance(expression, bool):
            return False
        try:
            return bool(self.templar.variables_used(expression, expression=True) & self.registers)
        except TemplateError:
            return False


def _marked_secret(templar: Templar, playbook: Playbook) -> set[str]:
    """Names that some template of the playbook passes through `| secret`."""
    names: set[str] = set()
    pending: list[Any] = [playbook.vars]
    for step in playbook.all_steps():
        pending += [step.name, step.args, list(step.when), step.loop, step.until]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            names |= templar.variables_marked_secret(item)
        elif isinstance(item, dict):
            pending += item.values()
        elif isinstance(item, (list, tuple)):
            pending += item
    return names
