"""`drillctl lab serve|start|stop|status|ssh|docker`: the embedded lab service and the SSH
and Docker labs (`python -m runner lab …` is how the lab's drills run them)."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from runner.cli.command import Command, Handler
from runner.errors import TargetEnvironmentError

if TYPE_CHECKING:
    from runner.lab import service

DEFAULT_STATE_DIR = Path(".drillctl/lab")

OVERVIEW = """\
The lab service is a small HTTP app that quick-start drills deploy, break and roll back.
It answers GET /health (503 in bad mode), GET /version, and keeps a durable ledger
(POST /ledger {"seq": N}, GET /ledger) that data-loss probes write to and read back.
Ground truth for checking what a drill measures: POST /admin/outage?seconds=D fails
/health for exactly D seconds; POST /admin/lose?count=K deletes the K newest acknowledged
ledger records; GET /admin/truth says when (time.monotonic(), wall time) and what.
"""

EXAMPLES = """\
examples:
  python -m runner lab start --port 18080 --version 1           # known-good release
  python -m runner lab start --port 18080 --version 2 --mode bad  # deploy the broken one
  python -m runner lab status
  python -m runner lab stop
  python -m runner lab serve --port 18080 --db /tmp/ledger.sqlite  # foreground, Ctrl-C stops
"""

SERVE_HELP = """\
Run the service in the foreground until Ctrl-C or SIGTERM (exit 0 on a clean stop).
Use it under a supervisor or in a container; `start` runs this same command detached.

example:
  python -m runner lab serve --port 18080 --version 1 --db /tmp/ledger.sqlite --verbose
"""

START_HELP = """\
Start the service detached from this terminal and wait until it answers HTTP.
A service already recorded in the state directory is stopped first, so `start` also
deploys a new version or mode in place. Prints one line with the pid and URL.
Exit 0 when it answers, 1 (with the reason and the log's last lines) when it does not.

examples:
  python -m runner lab start --port 18080 --version 1
  python -m runner lab start --port 18080 --version 2 --mode slow --slow-ms 500
  python -m runner lab start --state-dir /tmp/lab-b --bind 127.0.0.2 --port 18080
"""

STOP_HELP = """\
Stop the service recorded in the state directory: SIGTERM, then SIGKILL after --timeout.
Exit 0 whether or not something was running.

example:
  python -m runner lab stop --state-dir /tmp/lab-b
"""

STATUS_HELP = """\
Show the service recorded in the state directory.
Exit 0 when it is running, 1 when it is not.

examples:
  python -m runner lab status
  python -m runner lab status --json
"""


def port_number(text: str) -> int:
    """argparse type for a TCP port."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port 1-65535, got {text!r}")
    return int(text)


def milliseconds(text: str) -> int:
    """argparse type for a non-negative number of milliseconds."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected whole milliseconds >= 0, got {text!r}")
    return int(text)


def add_service_arguments(parser: argparse.ArgumentParser, *, db_required: bool) -> None:
    """The options that shape one service instance, shared by `serve` and `start`."""
    from runner.lab import service

    parser.add_argument(
        "--port", type=port_number, required=True, metavar="PORT", help="TCP port to listen on"
    )
    parser.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--version",
        default="1",
        metavar="VERSION",
        help="release version the service reports on /health and /version (default: %(default)s)",
    )
    parser.add_argument(
        "--mode",
        choices=service.MODES,
        default="good",
        help="good: healthy; bad: /health answers 503 (the broken release); "
        "slow: every answer delayed by --slow-ms (default: %(default)s)",
    )
    db_help = "SQLite ledger file (created if missing)"
    if not db_required:
        db_help += "; default: STATE_DIR/ledger.sqlite"
    parser.add_argument("--db", type=Path, required=db_required, metavar="PATH", help=db_help)
    parser.add_argument(
        "--slow-ms",
        type=milliseconds,
        default=200,
        metavar="MS",
        help="latency added to every answer in slow mode (default: %(default)s)",
    )
    parser.add_argument("--verbose", action="store_true", help="log one line per request to stderr")


def config_from_args(args: argparse.Namespace) -> service.LabConfig:
    """The service instance `serve` runs, from its options."""
    from runner.lab import service

    return service.LabConfig(
        port=args.port,
        version=args.version,
        db=args.db,
        bind=args.bind,
        mode=args.mode,
        slow_ms=args.slow_ms,
        verbose=args.verbose,
    )


def _serve(args: argparse.Namespace) -> int:
    from runner.cli import startup_gc
    from runner.lab import service

    # A server runs for as long as the drill: collect as usual, not in start-up batches.
    startup_gc.loaded()
    return service.serve(config_from_args(args))


def _start(args: argparse.Namespace) -> int:
    from runner.lab import control, service

    try:
        pid = control.start(
            args.state_dir,
            port=args.port,
            version=args.version,
            mode=args.mode,
            bind=args.bind,
            db=args.db,
            slow_ms=args.slow_ms,
            verbose=args.verbose,
            ready_timeout=args.ready_timeout,
        )
    except control.LabError as exc:
        print(f"lab service did not start: {exc}", file=sys.stderr)
        return 1
    url = service.service_url(args.bind, args.port)
    print(f"lab service v{args.version} ({args.mode}) pid {pid} on {url}")
    return 0


def _stop(args: argparse.Namespace) -> int:
    from runner.lab import control

    info = control.status(args.state_dir)
    if control.stop(args.state_dir, timeout=args.timeout) and info is not None:
        print(f"stopped lab service v{info['version']} pid {info['pid']} on {info['url']}")
    else:
        print(f"no lab service was running in {args.state_dir}")
    return 0


DEFAULT_SSH_DIR = Path(".drillctl/ssh-lab")
SSH_HELP = """Start or stop a lab of real sshd processes on 127.0.0.2, 127.0.0.3, ...

`up` generates host keys and a user key in DIR, starts one sshd per address, and writes
DIR/known_hosts and DIR/inventory.yml (inventories/ssh-lab.yml points at the default DIR).
Needs openssh-server (apt-get install openssh-server) and root, as it starts sshd.

examples:
  drillctl lab ssh up --hosts 5
  drillctl run playbooks/quickstart.yml -i inventories/ssh-lab.yml
  drillctl lab ssh down
"""


def _ssh(args: argparse.Namespace) -> int:
    import subprocess

    from runner.lab import ssh_lab

    if args.action == "down":
        stopped = ssh_lab.down(args.dir)
        print(f"stopped {stopped} sshd process{'es' if stopped != 1 else ''} of {args.dir}")
        return 0
    try:
        lab = ssh_lab.up(args.dir, args.hosts, port=args.port)
    except (OSError, subprocess.CalledProcessError, TargetEnvironmentError) as exc:
        print(f"ssh lab did not start: {exc}", file=sys.stderr)
        return 1
    print(f"ssh lab up: {', '.join(lab.addresses)} port {lab.port}; inventory {lab.inventory}")
    return 0


DOCKER_HELP = """Start or remove a lab of containers running the busybox lab service.

`up` builds the image drillctl-lab:1 FROM scratch with the host's static busybox (no
registry needed), and starts drillctl-lab-1, -2, ... with port 8080 published on
127.0.0.1:18081, 18082, ... (inventories/docker-lab.yml describes the default two).
Needs a running Docker engine and busybox-static.

examples:
  drillctl lab docker up
  drillctl run playbooks/quickstart.yml -i inventories/docker-lab.yml
  drillctl lab docker down
"""


def _docker(args: argparse.Namespace) -> int:
    from runner.lab import docker_lab

    try:
        if args.action == "down":
            print(f"removed {docker_lab.down()} lab container(s)")
            return 0
        lab = docker_lab.up(args.containers, first_port=args.first_port)
    except TargetEnvironmentError as exc:
        print(f"docker lab: {exc}", file=sys.stderr)
        return 1
    pairs = ", ".join(
        f"{n} on 127.0.0.1:{p}" for n, p in zip(lab.containers, lab.ports, strict=True)
    )
    print(f"docker lab up: {pairs}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from runner.lab import control

    info = control.status(args.state_dir)
    if args.json:
        print(json.dumps(info, indent=2))
    elif info is None:
        print(f"no lab service running in {args.state_dir}")
    else:
        print(f"lab service v{info['version']} ({info['mode']}) pid {info['pid']} on {info['url']}")
    return 0 if info is not None else 1


def _lab_errors(run: Handler) -> Handler:
    """A lab command whose lab fails exits 1 saying why (`lab: …`), like every lab command."""

    @functools.wraps(run)
    def handler(args: argparse.Namespace) -> int:
        from runner.lab.control import LabError

        try:
            return run(args)
        except LabError as exc:
            print(f"lab: {exc}", file=sys.stderr)
            return 1

    return handler


def _state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        metavar="DIR",
        help="where the pid, service.json, service.log and the default ledger live "
        "(default: %(default)s)",
    )


def _serve_arguments(serve: argparse.ArgumentParser) -> None:
    add_service_arguments(serve, db_required=True)


def _start_arguments(start: argparse.ArgumentParser) -> None:
    _state_dir(start)
    add_service_arguments(start, db_required=False)
    start.add_argument(
        "--ready-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for the first HTTP answer (default: %(default)s)",
    )


def _stop_arguments(stop: argparse.ArgumentParser) -> None:
    _state_dir(stop)
    stop.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between SIGTERM and SIGKILL (default: %(default)s)",
    )


def _status_arguments(status: argparse.ArgumentParser) -> None:
    _state_dir(status)
    status.add_argument("--json", action="store_true", help="print service.json as JSON")


def _ssh_arguments(ssh: argparse.ArgumentParser) -> None:
    ssh.add_argument("action", choices=["up", "down"], help="start or stop the SSH lab")
    ssh.add_argument(
        "--dir", type=Path, default=DEFAULT_SSH_DIR, help="lab directory (default: %(default)s)"
    )
    ssh.add_argument("--hosts", type=int, default=3, help="sshd processes (default: %(default)s)")
    ssh.add_argument("--port", type=port_number, default=2222, help="port (default: %(default)s)")


def _docker_arguments(dock: argparse.ArgumentParser) -> None:
    dock.add_argument("action", choices=["up", "down"], help="start or remove the Docker lab")
    dock.add_argument("--containers", type=int, default=2, help="how many (default: %(default)s)")
    dock.add_argument(
        "--first-port", type=port_number, default=18081, help="127.0.0.1 port of the first"
    )


def _lab_command(
    name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], None], run: Handler
) -> Command:
    """A lab subcommand: its whole help text is its description, its first line its summary."""
    return Command(
        name,
        help_text.splitlines()[0],
        description=help_text,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        arguments=arguments,
        handler=_lab_errors(run),
    )


LAB = Command(
    "lab",
    "the embedded lab service (start, stop, status, serve)",
    description=OVERVIEW,
    epilog=EXAMPLES,
    formatter_class=argparse.RawDescriptionHelpFormatter,
    title="commands",
    metavar="COMMAND",
    subcommands=(
        _lab_command("serve", SERVE_HELP, _serve_arguments, _serve),
        _lab_command("start", START_HELP, _start_arguments, _start),
        _lab_command("stop", STOP_HELP, _stop_arguments, _stop),
        _lab_command("status", STATUS_HELP, _status_arguments, _status),
        _lab_command("ssh", SSH_HELP, _ssh_arguments, _ssh),
        _lab_command("docker", DOCKER_HELP, _docker_arguments, _docker),
    ),
)
