"""The `drillctl` command line: argument parsing and exit codes, nothing else."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from runner import __version__, cli_habits, commands
from runner.errors import Diagnostic, ExitCode, InputError, TargetEnvironmentError
from runner.scaffold import KINDS as SCAFFOLD_KINDS

EPILOG = """\
exit codes: 0 drill passed · 1 drill ran and failed · 2 bad input or usage ·
            3 environment error (unreachable target, no engine) · 130 interrupted

examples:
  drillctl run playbooks/quickstart.yml -i inventories/local.yml
  drillctl plan playbooks/quickstart.yml -i inventories/local.yml -e bad_version=3
  drillctl lint playbooks/*.yml -i inventories/local.yml
  drillctl verify drills/runs/20261121T101500Z-quickstart
  drillctl halt --all

ansible habits:
  drillctl run drill.yml -i base.yml -i overrides.ini --limit @drill.retry
  drillctl run drill.yml -i hosts.ini -u deploy --private-key ~/.ssh/deploy -b -f 20
  drillctl run drill.yml -i hosts.ini -e '{"ports": [80, 443]}' -e @vars.yml
  drillctl run drill.yml -i hosts.ini --start-at-task "ship the release" --diff
  drillctl run drill.yml -i hosts.ini --list-hosts   (or --list-tasks, --list-tags, --syntax-check)
  drillctl plan drill.yml -i hosts.ini --diff
"""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 86400 seconds")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors name the command line position like every other input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"<command line>:1:1: {message}\n")
        raise SystemExit(ExitCode.BAD_INPUT)


def _run_options(p: argparse.ArgumentParser, *, with_out: bool) -> None:
    p.add_argument("playbook", help="the drill playbook (YAML)")
    cli_habits.add_inventory_option(
        p, "inventory file (YAML or Ansible INI); default: localhost", required=False
    )
    p.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="NAME=VALUE|@FILE",
        help="set a variable (highest precedence); repeatable",
    )
    cli_habits.add_limit_option(p)
    p.add_argument("-t", "--tags", action="append", default=[], help="only steps with these tags")
    p.add_argument("--skip-tags", action="append", default=[], help="skip steps with these tags")
    cli_habits.add_run_habits(p, is_run=with_out)
    if with_out:
        p.add_argument(
            "--out", metavar="DIR", help="run directory (default drills/runs/<UTC>-<name>)"
        )
        p.add_argument("--operator", default="", help="who runs the drill (default: login name)")
        p.add_argument("--change-id", default="", help="change ticket this drill is evidence for")
        p.add_argument(
            "--kind",
            choices=["drill", "incident"],
            default="drill",
            help="drill (a rehearsal, the default) or incident (a real rollback run with "
            "drillctl); the quarterly report keeps them apart",
        )
        p.add_argument(
            "--plan-entry",
            default="",
            metavar="QUARTER/ID",
            help="the drill plan entry this run is made for (set by `drillctl drill run`)",
        )
        p.add_argument("-v", "--verbose", action="count", default=0, help="show command output")
        p.add_argument("--check", action="store_true", help="print the plan and touch nothing")
        p.add_argument(
            "--pushgateway",
            metavar="URL",
            default=os.environ.get("DRILLCTL_PUSHGATEWAY"),
            help="push the run's figures to this Prometheus Pushgateway "
            "(default $DRILLCTL_PUSHGATEWAY; see docs/monitoring.md)",
        )
        p.add_argument(
            "--history",
            metavar="PATH|URL",
            help="run history: SQLite file or postgresql:// URL "
            "(default $DRILLCTL_HISTORY or drills/history.db; 'off' records nothing)",
        )
        p.add_argument(
            "--allow-production",
            action="store_true",
            help="allow an inventory marked environment: production (needs --change-id too)",
        )
        p.add_argument(
            "--confirm",
            action="append",
            default=[],
            metavar="ID",
            help="confirm a checklist item by its id (repeatable); on a terminal you are asked",
        )
        p.add_argument(
            "--sign-key",
            metavar="KEY.pem",
            help="sign the journal's head with this ed25519 private key (see drillctl keygen)",
        )
        p.add_argument(
            "--allow-irreversible",
            action="store_true",
            help="allow the deploy of a rollback_type 5 (point of no return) drill",
        )
        p.add_argument(
            "--ignore-unrecovered",
            action="store_true",
            help="run even though the last drill on this inventory died with faults not "
            "reverted (by default refused, exit 3, naming `drillctl recover RUN_DIR`)",
        )


EVIDENCE_COMMANDS = {
    "history": "the run history: list, show, import RUN_DIR",
    "drill": "run a quarter's drill plan, or show its status",
    "quarterly": "the quarterly rollback report (html, md, json)",
    "metrics": "rollback metrics in Prometheus text format",
}


def _vault_options(*parsers: argparse.ArgumentParser) -> None:
    """`--vault-password-file` / `--ask-vault-pass`, as Ansible spells them."""
    for p in parsers:
        p.add_argument(
            "--vault-password-file",
            "--vault-pass-file",
            metavar="FILE",
            help="open Ansible Vault values with the password in FILE (or that FILE prints, "
            "if executable)",
        )
        p.add_argument(
            "-J", "--ask-vault-pass", action="store_true", help="ask for the vault password"
        )


def _unlock_vault(args: argparse.Namespace) -> None:
    if getattr(args, "vault_password_file", None) or getattr(args, "ask_vault_pass", False):
        from runner.vault import unlock_from_options

        unlock_from_options(args.vault_password_file, args.ask_vault_pass)


def build_parser(*, full: bool = True) -> argparse.ArgumentParser:
    """The argument parser; `full=False` skips the evidence commands' options (faster)."""
    parser = _Parser(
        prog="drillctl",
        description="Run rollback and chaos drills that measure recovery time and data loss.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"drillctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser(
        "run",
        help="run a drill",
        description="Run a drill playbook against an inventory: "
        "prepare, deploy, inject, roll back, verify, clean up. Writes journal.jsonl and "
        "result.json (and reports) into a run directory.",
    )
    _run_options(run, with_out=True)

    plan = sub.add_parser(
        "plan",
        help="print the resolved plan; run nothing",
        description="Resolve hosts, variables and templates and print every command "
        "each host would run, secrets masked. Nothing is executed.",
    )
    _run_options(plan, with_out=False)

    lint = sub.add_parser(
        "lint",
        help="check playbooks; file:line:col findings",
        description="Validate playbooks against the schema and the lint rules. "
        "Exit 0 when clean, 2 when any error is found; warnings exit 0, or 1 with --strict.",
    )
    lint.add_argument("playbooks", nargs="+", help="playbook files")
    cli_habits.add_inventory_option(
        lint, "also check variables and patterns against this inventory", required=False
    )
    lint.add_argument(
        "-e",
        "--extra-vars",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="variables that will be given with -e at run time",
    )
    lint.add_argument(
        "--format",
        choices=["text", "json", "github", "sarif"],
        default="text",
        help="text (default), json, github (workflow commands that annotate a pull request) "
        "or sarif (SARIF 2.1.0, for code scanning)",
    )
    lint.add_argument("--strict", action="store_true", help="exit 1 on warnings (no errors)")

    new = sub.add_parser(
        "new",
        help="start a drill playbook from a template",
        description="Write playbooks/NAME.yml: a drill of KIND that lints clean and runs as it "
        "is against the local lab (network: the Docker lab), to change into your own. "
        "Never overwrites a file (exit 2).",
        epilog="example:\n  drillctl new app-code order-gateway\n"
        "  drillctl run playbooks/order-gateway.yml -i inventories/local.yml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("kind", choices=list(SCAFFOLD_KINDS), help="what the drill rolls back")
    new.add_argument("name", help="the drill's name; the file is DIR/NAME.yml")
    new.add_argument("--dir", default="playbooks", help="directory (default playbooks)")

    schema = sub.add_parser(
        "schema",
        help="print a JSON Schema (for editors and CI)",
        description="Print the JSON Schema (draft 2020-12) of playbooks, inventories or "
        "result.json.",
    )
    schema.add_argument("kind", choices=["playbook", "inventory", "result"])

    inv = sub.add_parser(
        "inventory",
        help="show an inventory as drillctl resolves it",
        description="Show hosts, groups and variables after group_vars/host_vars.",
    )
    cli_habits.add_inventory_option(inv, "inventory file (YAML or Ansible INI)", required=True)
    mode = inv.add_mutually_exclusive_group(required=True)
    mode.add_argument("--list", action="store_true", help="JSON, like ansible-inventory --list")
    mode.add_argument("--graph", action="store_true", help="tree, like ansible-inventory --graph")
    mode.add_argument("--host", metavar="NAME", help="one host's variables as JSON")

    adhoc = sub.add_parser(
        "exec",
        help="run one command on every matching host (ad hoc)",
        description="Run one shell command across the hosts matching PATTERN, with the same "
        "connections, fan-out and host-key rules as a drill, and its guards: production hosts "
        "need --allow-production and --change-id (exit 2), and it holds the inventory's lock "
        "(exit 3 while a drill runs on it). Prints each host's result as it "
        "finishes. Exit 0 all ok, 1 a command failed, 3 a host was unreachable.",
        epilog="example:\n  drillctl exec gateway -i inventories/ssh-lab.yml -- uptime",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    adhoc.add_argument("pattern", help="host pattern, e.g. 'gateway:!gw2'")
    cli_habits.add_inventory_option(adhoc, "inventory file (YAML or Ansible INI)", required=True)
    cli_habits.add_limit_option(adhoc)
    cli_habits.add_connection_options(adhoc, forks_default=10)
    adhoc.add_argument("--timeout", type=float, default=None, help="seconds per host; killed after")
    adhoc.add_argument(
        "--allow-production",
        action="store_true",
        help="allow production hosts (environment: production; needs --change-id too)",
    )
    adhoc.add_argument("--change-id", default="", help="change ticket this command is part of")
    adhoc.add_argument("--operator", default="", help="who runs it (default: login name)")
    adhoc.add_argument("words", nargs="*", metavar="COMMAND", help="the command, after --")

    _vault_options(run, plan, lint, inv, adhoc)

    verify = sub.add_parser(
        "verify",
        help="check a run's journal: hash chain, final event, signature",
        description="Recompute the SHA-256 chain of RUN_DIR/journal.jsonl; check that a "
        "finished run's journal ends with its final event and that its hash is the head "
        "result.json records; check journal.sig when the run was signed. Exit 0 when the "
        "evidence holds, 1 when a line was changed, removed, cut or torn, or the signature "
        "does not hold.",
        epilog="examples:\n  drillctl verify drills/runs/20261121T101500Z-quickstart\n"
        "  drillctl verify RUN_DIR --pubkey drill-signing.pem.pub",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("run_dir")
    verify.add_argument(
        "--pubkey",
        metavar="PUB.pem",
        help="ed25519 public key the run must be signed with (refuses an unsigned run)",
    )

    keygen = sub.add_parser(
        "keygen",
        help="make an ed25519 key pair to sign journals",
        description="Write an unencrypted ed25519 private key (PEM, mode 0600) for "
        "`run --sign-key` and its public key (PEM) for `verify --pubkey`. Never overwrites.",
        epilog="example:\n  drillctl keygen drill-signing.pem  # and drill-signing.pem.pub",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keygen.add_argument("private_key", help="where to write the private key")
    keygen.add_argument("public_key", nargs="?", help="the public key (default PRIVATE.pub)")

    appr = sub.add_parser(
        "approve",
        help="approve the rollback of a drill waiting for a manual decision",
        description="Record an operator's go-ahead in RUN_DIR; a drill with "
        "`decision: {manual: true}` waiting there starts its rollback and records who "
        "decided and when (the time to decide). Exit 2 when the run is not waiting for a "
        "decision (not asked yet, already decided, finished, or its runner is gone).",
    )
    appr.add_argument("run_dir")
    appr.add_argument("--operator", default="", help="who decides (default: login name)")

    pm = sub.add_parser(
        "postmortem",
        help="write the post-mortem draft of a run (the procedures' agenda, pre-filled)",
        description="Write RUN_DIR/postmortem.md (or --out FILE): the post-mortem agenda of the "
        "rollback procedures, with the timeline review taken from the run's journal, what "
        "happened, the trigger, decision and figures, and empty tables for the 5 whys and the "
        "action items.",
        epilog="example: drillctl postmortem drills/runs/20261121T101500Z-quickstart",
    )
    pm.add_argument("run_dir")
    pm.add_argument("--out", metavar="FILE", help="where to write (default RUN_DIR/postmortem.md)")

    rec = sub.add_parser(
        "recover",
        help="revert every fault a crashed run left behind",
        description="Read RUN_DIR/journal.jsonl (the write-ahead fault ledger) and revert every "
        "fault whose revert was not recorded, for a runner that died (even kill -9). It first lets "
        "an operation the dead run left in flight land (a stop in its grace period), then "
        "reverts, checks, waits --settle and checks again, repeating until the check holds or "
        "--deadline passes. Running it twice is harmless. Exit 0 when nothing is left, 1 when "
        "a fault is still in effect (what is left and the command to run by hand are printed).",
    )
    rec.add_argument("run_dir")
    rec.add_argument("--force", action="store_true", help="even if the run's process still lives")
    rec.add_argument(
        "--deadline",
        type=_seconds,
        default=120.0,
        metavar="SECONDS",
        help="keep reverting until every fault's check holds or this much time has passed "
        "(default 120)",
    )
    rec.add_argument(
        "--settle",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="after a revert, wait this long and check again (default 1)",
    )

    from runner.halt_cli import register as register_halt

    register_halt(sub)  # halt [RUN_DIR | --all]

    if full:
        from runner.history.cli import register as register_history
        from runner.history.report_cli import register as register_reports
        from runner.plans.cli import register as register_plans

        register_history(sub)  # history list|show|import
        register_plans(sub)  # drill run|status
        register_reports(sub)  # quarterly, metrics
    else:
        # Listed in --help without loading the history stack for every other command.
        for name, summary in EVIDENCE_COMMANDS.items():
            sub.add_parser(name, help=summary, add_help=False)

    sub.add_parser(
        "lab", help="the embedded lab service (start, stop, status, serve)", add_help=False
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["lab"]:
        from runner.lab.cli import main as lab_main

        return lab_main(args_list[1:])
    remote: list[str] = []
    if args_list[:1] == ["exec"] and "--" in args_list:
        # Everything after `--` is the remote command, options included.
        cut = args_list.index("--")
        args_list, remote = args_list[:cut], args_list[cut + 1 :]
    args = build_parser(full=args_list[:1] != [] and args_list[0] in EVIDENCE_COMMANDS).parse_args(
        args_list
    )
    if remote:
        args.command_words = remote
    try:
        _unlock_vault(args)
        return int(_dispatch(args))
    except InputError as exc:
        _print_diagnostics(exc.diagnostics)
        return ExitCode.BAD_INPUT
    except TargetEnvironmentError as exc:
        print(f"drillctl: {exc}", file=sys.stderr)
        return ExitCode.ENVIRONMENT
    except KeyboardInterrupt:
        print("drillctl: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.PASSED


def _print_diagnostics(diags: Sequence[Diagnostic]) -> None:
    for d in diags:
        print(d, file=sys.stderr)
    errors = sum(1 for d in diags if d.severity == "error")
    if errors > 1:
        print(f"{errors} errors", file=sys.stderr)


def _dispatch(args: argparse.Namespace) -> int:
    handler = getattr(args, "handler", None)
    if handler is not None:
        return int(handler(args))
    command = args.command
    if command in ("run", "plan"):
        return commands.run(args, check=command == "plan" or args.check)
    if command == "lint":
        return commands.lint(args)
    if command == "new":
        from runner.scaffold import next_steps, write_scaffold

        print(next_steps(args.kind, write_scaffold(args.kind, args.name, args.dir)))
        return ExitCode.PASSED
    if command == "schema":
        return commands.schema(args.kind)
    if command == "inventory":
        return commands.inventory(args)
    if command == "verify":
        return commands.verify(Path(args.run_dir), args.pubkey)
    if command == "keygen":
        return commands.keygen(args.private_key, args.public_key)
    if command == "exec":
        return commands.adhoc(args)
    if command == "approve":
        return commands.approve(Path(args.run_dir), args.operator)
    if command == "postmortem":
        return commands.postmortem(Path(args.run_dir), args.out)
    if command == "recover":
        return commands.recover(Path(args.run_dir), args.force, args.deadline, args.settle)
    raise AssertionError(command)
