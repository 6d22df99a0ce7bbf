"""`drillctl drill run`: each planned drill in order, each in its own `drillctl run` process.

A separate process per drill keeps one drill's crash, signal handlers and inventory lock from
touching the next; a failed drill does not stop the plan. Each finished run is recorded in the
history under its plan entry (from its result.json, or rebuilt from its journal).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from runner.errors import ExitCode, InputError
from runner.history.store import HistoryStore
from runner.plans.model import DrillPlan, PlanEntry


@dataclass(frozen=True)
class DrillRunOutcome:
    entry_id: str
    exit_code: int
    run_dir: Path
    run_id: str | None
    status: str | None
    note: str = ""


def select(plan: DrillPlan, only: Sequence[str]) -> list[PlanEntry]:
    """The entries to run, in plan order; an unknown `--only` id is bad input."""
    known = {e.id for e in plan.entries}
    unknown = [i for i in only if i not in known]
    if unknown:
        raise InputError.at(
            "<command line>",
            1,
            1,
            f"--only: no drill {unknown[0]!r} in {plan.path} "
            f"(it lists: {', '.join(sorted(known))})",
        )
    return [e for e in plan.entries if not only or e.id in only]


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _new_run_dir(runs_dir: Path, entry: PlanEntry) -> Path:
    """`<UTC stamp>-<id>`, created here so that no other run (another `drill run` of the same
    plan, at the same second) can share it; a suffix keeps a taken name free."""
    name = f"{_stamp()}-{entry.id}"
    while True:
        run_dir = runs_dir / name
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            name = f"{_stamp()}-{entry.id}-{secrets.token_hex(2)}"


def drill_argv(
    entry: PlanEntry, run_dir: Path, vars_file: Path, extra: Sequence[str], plan_key: str = ""
) -> list[str]:
    argv = [sys.executable, "-m", "runner", "run", entry.playbook, "-i", entry.inventory]
    if plan_key:  # the run records the entry it is made for, in its journal and result.json
        argv += ["--plan-entry", plan_key]
    argv += ["-e", f"@{vars_file}"]
    for item in extra:  # the command line's -e come last and win over the plan's
        argv += ["-e", item]
    argv += ["--out", str(run_dir)]
    if entry.change_ids:
        argv += ["--change-id", ",".join(entry.change_ids)]
    return argv


def run_plan(
    plan: DrillPlan,
    entries: Sequence[PlanEntry],
    store: HistoryStore,
    runs_dir: Path,
    extra_vars: Sequence[str] = (),
    say: Callable[[str], None] = print,
) -> list[DrillRunOutcome]:
    """Run `entries` one after another; stops early only on Ctrl-C (after that drill ends)."""
    outcomes: list[DrillRunOutcome] = []
    for n, entry in enumerate(entries, start=1):
        run_dir = _new_run_dir(runs_dir, entry)
        say(f"== drill {n}/{len(entries)}: {entry.id} ({entry.playbook}, owner {entry.owner})")
        code, interrupted = _run_one(entry, run_dir, extra_vars, plan.key(entry))
        outcome = _record(plan, entry, store, run_dir, code)
        outcomes.append(outcome)
        say(f"== {entry.id}: {outcome.status or 'no result'} (exit {code}){outcome.note}")
        if interrupted:
            say("== interrupted: the remaining drills of the plan were not started")
            break
    return outcomes


def _run_one(
    entry: PlanEntry, run_dir: Path, extra: Sequence[str], plan_key: str
) -> tuple[int, bool]:
    """Exit code of the drill's process, and whether the operator pressed Ctrl-C."""
    with tempfile.TemporaryDirectory(prefix="drillctl-plan-") as tmp:
        # JSON is YAML: the entry's variables keep their types through `-e @file`.
        vars_file = Path(tmp) / "extra_vars.json"
        vars_file.write_text(json.dumps(entry.extra_vars), encoding="utf-8")
        # The plan records each run itself, under its entry: the child must not also do so.
        env = {**os.environ, "DRILLCTL_HISTORY": "off"}
        proc = subprocess.Popen(drill_argv(entry, run_dir, vars_file, extra, plan_key), env=env)
        interrupted = False
        while True:
            try:
                # Ctrl-C reaches the child too (same process group); it rolls back and exits
                # 130. We wait for that rather than leave a drill running unattended.
                return proc.wait(), interrupted or proc.returncode == ExitCode.INTERRUPTED
            except KeyboardInterrupt:
                interrupted = True


def _record(
    plan: DrillPlan, entry: PlanEntry, store: HistoryStore, run_dir: Path, code: int
) -> DrillRunOutcome:
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        # Bad input or an environment error before the run began: nothing ran, nothing to keep.
        if run_dir.is_dir():
            run_dir.rmdir()
        return DrillRunOutcome(entry.id, code, run_dir, None, None, " — nothing ran")
    try:
        row, _ = store.import_run(run_dir, plan_entry=plan.key(entry))
    except Exception as exc:  # the drill's evidence is on disk: report, and go on with the plan
        note = f" — not recorded in the history ({exc}); later: drillctl history import {run_dir}"
        return DrillRunOutcome(entry.id, code, run_dir, None, None, note)
    return DrillRunOutcome(entry.id, code, run_dir, row.run_id, row.status, f" — {run_dir}")
