"""What each `drillctl` command does, once its arguments are parsed (see runner/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import ExitCode, InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def extra_vars(items: list[str]) -> dict[str, object]:
    """`-e` values, or bad input located on the command line."""
    from runner.templating.variables import parse_extra_vars

    try:
        return parse_extra_vars(items)
    except ValueError as exc:
        raise InputError.at("<command line>", 1, 1, str(exc)) from None


def run(args: argparse.Namespace, *, check: bool) -> int:
    from runner.cli_habits import check_forks, inventories, read_limit
    from runner.inventory.defaults import ConnectionDefaults
    from runner.run.launch import execute
    from runner.run.prepare import RunRequest, prepare

    check_forks(args.forks)
    request = RunRequest(
        playbook=args.playbook,
        inventories=inventories(args),
        extra_vars=extra_vars(args.extra_vars),
        limit=read_limit(args.limit),
        tags=tuple(args.tags),
        skip_tags=tuple(args.skip_tags),
        out=getattr(args, "out", None),
        operator=getattr(args, "operator", ""),
        change_id=getattr(args, "change_id", ""),
        kind=getattr(args, "kind", "drill"),
        plan_entry=getattr(args, "plan_entry", ""),
        verbose=getattr(args, "verbose", 0),
        allow_production=getattr(args, "allow_production", False),
        allow_irreversible=getattr(args, "allow_irreversible", False),
        confirm=tuple(getattr(args, "confirm", ())),
        sign_key=getattr(args, "sign_key", None),
        ignore_unrecovered=getattr(args, "ignore_unrecovered", False),
        forks=args.forks,
        connection=ConnectionDefaults(args.user, args.private_key, args.become, args.become_user),
        start_at_task=args.start_at_task,
        diff=args.diff,
    )
    prepared = prepare(request)
    from runner.run.listing import listing_mode, print_listing

    mode = listing_mode(args)
    if mode:
        print_listing(mode, prepared, sys.stdout)
        return ExitCode.PASSED
    if check:
        from runner.engine.plan_view import print_plan

        print_plan(prepared.plan, prepared.mask, sys.stdout)
        if request.diff:
            from runner.engine.plan_diff import print_plan_diffs

            print_plan_diffs(prepared.plan, prepared.templar, sys.stdout)
        return ExitCode.PASSED
    from runner.run.console import TerminalView
    from runner.run.summary import print_summary

    view = TerminalView(prepared.mask, verbose=request.verbose)
    outcome, run_dir = execute(prepared, view)
    print_summary(view, outcome, run_dir, prepared.playbook)
    from runner.history import record_run

    record_run(None, run_dir, args.history)  # a failure to record warns; the drill stands
    if getattr(args, "pushgateway", None):
        push_figures(run_dir, args.pushgateway)
    return outcome.exit_code


def push_figures(run_dir: Path, gateway: str) -> None:
    """Push the run's figures; a gateway that fails warns and leaves the drill's verdict."""
    from runner.report.pushgateway import PushError, push_run

    try:
        push_run(json.loads((run_dir / "result.json").read_text()), gateway)
    except (PushError, OSError, ValueError) as exc:
        print(f"warning: figures not pushed: {exc}", file=sys.stderr)


def lint(args: argparse.Namespace) -> int:
    from runner.cli_habits import inventories
    from runner.inventory import load_inventory
    from runner.lint.linter import lint_file
    from runner.lint.output import exit_code, render

    files = inventories(args)
    inventory = load_inventory(list(files)) if files else None
    extra = list(extra_vars(args.extra_vars))
    findings = [
        d for path in args.playbooks for d in lint_file(path, inventory=inventory, extra_vars=extra)
    ]
    output = render(findings, args.format)
    if output:
        print(output)
    if args.format == "text":
        checked = len(args.playbooks)
        print(
            f"{checked} file{'s' if checked != 1 else ''} checked, {len(findings)} finding"
            f"{'s' if len(findings) != 1 else ''}",
            file=sys.stderr,
        )
    return exit_code(findings, strict=args.strict)


def schema(kind: str) -> int:
    if kind == "playbook":
        from runner.playbook.schema import playbook_schema

        schema = playbook_schema()
    elif kind == "result":
        from runner.results.schema import result_schema

        schema = result_schema()
    else:
        from runner.inventory.schema import INVENTORY_SCHEMA

        schema = INVENTORY_SCHEMA
    print(json.dumps(schema, indent=2))
    return ExitCode.PASSED


def inventory(args: argparse.Namespace) -> int:
    from runner.cli_habits import inventories
    from runner.inventory import load_inventory
    from runner.inventory.views import render_graph, to_ansible_list
    from runner.vault import json_default

    inv = load_inventory(list(inventories(args)))
    if args.graph:
        print(render_graph(inv))
    elif args.host:
        if args.host not in inv.hosts:
            raise InputError.at(inv.path, 1, 1, f"no host named {args.host!r} in this inventory")
        print(json.dumps(dict(inv.hosts[args.host].vars), indent=2, default=json_default))
    else:
        print(json.dumps(to_ansible_list(inv), indent=2, default=json_default))
    return ExitCode.PASSED


def adhoc(args: argparse.Namespace) -> int:
    from runner.cli_habits import check_forks, inventories, read_limit
    from runner.engine.adhoc import ExecRequest, exec_guarded
    from runner.engine.safety import Permissions
    from runner.inventory.defaults import ConnectionDefaults

    words = getattr(args, "command_words", None) or args.words
    if not words:
        raise InputError.at("<command line>", 1, 1, "give the command after --")
    check_forks(args.forks)
    request = ExecRequest(
        inventories=inventories(args),
        pattern=args.pattern,
        command=" ".join(words),
        limit=read_limit(args.limit),
        forks=args.forks,
        timeout=args.timeout,
        operator=args.operator,
        permissions=Permissions(allow_production=args.allow_production, change_id=args.change_id),
        defaults=ConnectionDefaults(args.user, args.private_key, args.become, args.become_user),
    )
    return exec_guarded(request)


def recover(run_dir: Path, force: bool, deadline_s: float, settle_s: float) -> int:
    from runner.engine.recover import recover

    report = recover(run_dir, force=force, deadline_s=deadline_s, settle_s=settle_s)
    if not report.pending:
        print(f"{run_dir}: no fault left to revert")
        return ExitCode.PASSED
    if report.waited_s:
        print(f"waited {report.waited_s:.1f}s for operations the dead run left in flight to land")
    for fault_id in report.reverted:
        print(f"reverted {fault_id} (checked, and again after settling)")
    for left in report.failed:
        print(
            f"NOT REVERTED {left.fault_id} on {left.host}: {left.summary}: {left.why}\n"
            f"  run by hand on {left.host}: {left.manual}\n"
            f"  then: drillctl recover {run_dir}",
            file=sys.stderr,
        )
    if report.failed:
        print(f"{len(report.failed)} fault(s) still in effect", file=sys.stderr)
    return ExitCode.FAILED if report.failed else ExitCode.PASSED


def verify(run_dir: Path, pubkey: str | None = None) -> int:
    """Exit 0 when the run's evidence holds, 1 naming the first line that does not."""
    from runner.journal import JOURNAL_NAME
    from runner.verify_run import verify_run

    path = run_dir / JOURNAL_NAME if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise InputError.at(
            str(path), 1, 1, "no journal here; give a run directory or its journal.jsonl"
        )
    public = _public_key(pubkey) if pubkey else None
    report = verify_run(run_dir, public)
    if report.ok:
        print(f"{path}: " + "; ".join(report.notes))
        return ExitCode.PASSED
    for line, why in report.problems:
        print(f"{path}:{line}:1: {why}")
    return ExitCode.FAILED


def _public_key(path: str) -> Ed25519PublicKey:
    from runner.signing import KeyFileError, load_public_key

    try:
        return load_public_key(Path(path))
    except KeyFileError as exc:
        raise InputError.at(path, 1, 1, str(exc)) from None


def approve(run_dir: Path, operator: str) -> int:
    """Approve a rollback waiting for a manual decision; exit 2 when nothing is waiting."""
    from runner.engine.monitor import (
        AlreadyApproved,
        approvals_needed,
        approve,
        read_approvals,
        waiting_for_decision,
    )

    if not run_dir.is_dir():
        raise InputError.at(str(run_dir), 1, 1, "no such run directory")
    why_not = waiting_for_decision(run_dir)
    if why_not:
        raise InputError.at(str(run_dir), 1, 1, f"nothing to approve: {why_not}")
    try:
        path = approve(run_dir, operator)
    except AlreadyApproved as exc:
        raise InputError.at(str(run_dir), 1, 1, f"nothing to approve: {exc}") from None
    have, needed = len(read_approvals(run_dir)), approvals_needed(run_dir)
    more = f"; {needed - have} more needed" if have < needed else ""
    print(f"approved: {path} ({have} of {needed} approvals{more})")
    return ExitCode.PASSED


def keygen(private: str, public: str | None) -> int:
    """Write an ed25519 key pair for `run --sign-key` and `verify --pubkey`."""
    from runner.signing import KeyFileError, generate_key_pair

    public = public or f"{private}.pub"
    try:
        kid = generate_key_pair(Path(private), Path(public))
    except KeyFileError as exc:
        raise InputError.at(private, 1, 1, str(exc)) from None
    except OSError as exc:
        raise InputError.at(private, 1, 1, f"cannot write the key: {exc.strerror or exc}") from None
    print(f"private key {private} (keep it secret), public key {public}: {kid}")
    return ExitCode.PASSED


def postmortem(run_dir: Path, out: str | None) -> int:
    """Write the post-mortem draft of a run (default RUN_DIR/postmortem.md)."""
    from runner.journal import JOURNAL_NAME, read_events
    from runner.report.postmortem import render

    journal, result_file = run_dir / JOURNAL_NAME, run_dir / "result.json"
    for needed in (journal, result_file):
        if not needed.is_file():
            raise InputError.at(str(needed), 1, 1, "missing: give the directory of a finished run")
    try:
        result = json.loads(result_file.read_text())
    except (OSError, ValueError) as exc:
        raise InputError.at(str(result_file), 1, 1, f"cannot read result.json: {exc}") from None
    target = Path(out) if out else run_dir / "postmortem.md"
    target.write_text(render(result, list(read_events(journal)), str(run_dir)))
    print(f"post-mortem draft: {target}")
    return ExitCode.PASSED
